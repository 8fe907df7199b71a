"""The gold page shipped in the package is docs/gold.md and defines every built-in gold table."""

from __future__ import annotations

from pathlib import Path

from lakeshop.retail.docs import gold_page
from lakeshop.retail.pipeline import tables

DOCS = Path(__file__).parents[2] / "docs" / "gold.md"


def test_the_packaged_page_is_the_docs_page() -> None:
    assert gold_page() == DOCS.read_text("utf-8")


def test_every_gold_table_is_defined_on_the_page() -> None:
    names = [t.name for t in tables() if t.name.startswith("gold.")]
    assert names
    undefined = [n for n in names if f"`{n.split('.', 1)[1]}`" not in gold_page()]
    assert undefined == []

"""docs/gold.md as PostgreSQL comments (no database: the parsing only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lakeshop.app.project import Project, write_demo_config
from lakeshop.app.sync.comments import LONGEST, gold_comments, parse
from lakeshop.app.sync.stream import ahead

ROOT = Path(__file__).resolve().parents[2]


def test_every_gold_table_has_its_comment_from_docs(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    gold = [
        n.split(".", 1)[1] for n in Project.load(tmp_path).graph.tables if n.startswith("gold.")
    ]
    found = gold_comments()
    assert found == parse((ROOT / "docs" / "gold.md").read_text())  # the page, as installed
    for name in gold:
        assert found[name].comment, name
    assert found["agg_daily_sales"].comment == "one row per sales_date × channel"
    daily = found["agg_daily_sales"].columns
    assert daily["total_orders"] == "= distinct orders with a revenue line that day"
    assert daily["avg_order_value"] == "= ROUND(total_revenue / total_orders, 2), 0 when no orders"
    sales = found["fact_sales"]
    assert sales.comment.startswith("one row per order line")
    assert sales.columns["sales_total_base"] == "= ROUND(sales_total × fx_rate, 2)"
    assert found["dim_date"].columns["day_of_week"] == "ISO 1 = Monday … 7"
    assert all(len(c) <= LONGEST for d in found.values() for c in d.columns.values())


def test_a_definition_ends_with_its_clause() -> None:
    page = (
        "| `t` | `a` × `b` | `x` = one (with; inner) thing; `y` (kept, as is), `z` is last. "
        "Then prose. |\n"
    )
    t = parse(page)["t"]
    assert t.comment == "one row per a × b"
    assert t.columns == {"x": "= one (with; inner) thing", "y": "kept, as is", "z": "last"}


def test_the_producer_thread_hands_over_items_and_errors() -> None:
    assert list(ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("broken batch")

    got = []
    try:
        for item in ahead(failing()):
            got.append(item)
    except ValueError as exc:
        assert "broken batch" in str(exc)
    else:
        raise AssertionError("the producer's error was not raised")
    assert got == [1]
    early = ahead(iter(range(10_000)), depth=1)
    assert next(early) == 0
    early.close()  # the consumer stops: the producer thread ends too

"""docs/gold.md, the definitions of the gold tables, as shipped in the package.

``lakeshop/retail/gold.md`` links to the page in a checkout and is copied into a wheel, so the
catalog and the PostgreSQL comments read the same text wherever lakeshop is installed.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def gold_page() -> str:
    """The text of docs/gold.md (empty when the page is not installed)."""
    try:
        return resources.files("lakeshop.retail").joinpath("gold.md").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return ""

"""A dashboard of our own over another company's lakehouse (the hand-made marketplace export,
tests/exports/marketplace), served under its own access.yml: a filter bound to a seller, its
numbers equal to DuckDB's over the export's files, postal codes masked, a seller's row filter
applied to the tile, and a tile over a table the seller may not read withheld."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.retail.test_marketplace_export import EXPORT
from tests.serve.test_foreign_export import _plain, _seller, marketplace  # noqa: F401

from .conftest import Running

pytestmark = pytest.mark.slow

PAGE = """
title: Marketplace
filters:
  - {name: seller, kind: choice, label: Seller,
     options: "SELECT DISTINCT seller_id FROM gold.fact_sales WHERE seller_id IS NOT NULL ORDER BY 1"}
tiles:
  - id: by_seller
    title: Lines and value by seller
    chart: bar
    x: seller_id
    y: [lines]
    sql: |
      SELECT seller_id, count(*) AS lines, sum(sales_total) AS total
      FROM gold.fact_sales
      WHERE $seller IS NULL OR seller_id = $seller
      GROUP BY 1 ORDER BY 1
  - id: postcodes
    title: Customers' postal codes
    chart: table
    sql: "SELECT DISTINCT postal_code FROM gold.dim_customer WHERE postal_code IS NOT NULL"
"""


@pytest.fixture(scope="module")
def served(marketplace: Running) -> Running:  # noqa: F811
    folder = marketplace.project.directory / "dashboards"
    folder.mkdir(exist_ok=True)
    (folder / "market.yml").write_text(PAGE)
    return marketplace


def test_only_the_projects_own_page_is_served(served: Running) -> None:
    with served.client("eve") as c:
        assert [p["name"] for p in c.get("/api/dashboards").json()] == ["market"]
        page = c.get("/api/dashboards/market").json()
    sellers = page["filters"][0]["options"]
    items = str(Path(EXPORT / "olist_order_items_dataset.csv"))
    assert sellers == [
        r[0] for r in _plain("SELECT DISTINCT seller_id FROM read_csv($f) ORDER BY 1", f=items)
    ]


def test_a_seller_filter_gives_the_exports_numbers(served: Running) -> None:
    seller = _seller()
    items = str(Path(EXPORT / "olist_order_items_dataset.csv"))
    expected = _plain("SELECT count(*) FROM read_csv($f) WHERE seller_id = $s", f=items, s=seller)
    with served.client("eve") as c:
        rows = c.get("/api/dashboards/market/tiles/by_seller", params={"seller": seller}).json()
        everyone = c.get("/api/dashboards/market/tiles/by_seller").json()
        codes = c.get("/api/dashboards/market/tiles/postcodes").json()
    assert [(r["seller_id"], r["lines"]) for r in rows["rows"]] == [(seller, expected[0][0])]
    assert len(everyone["rows"]) > 1
    assert {r["postal_code"] for r in codes["rows"]} == {"#####"}


def test_the_sellers_row_filter_and_grants_hold_on_the_page(served: Running) -> None:
    seller = _seller()
    with served.client("sol") as c:  # the seller: their own lines, no customers
        page = c.get("/api/dashboards/market").json()
        rows = c.get("/api/dashboards/market/tiles/by_seller").json()["rows"]
        other = c.get("/api/dashboards/market/tiles/postcodes.csv")
    allowed = {t["id"]: t["allowed"] for t in page["tiles"]}
    assert allowed == {"by_seller": True, "postcodes": False}
    assert [r["seller_id"] for r in rows] == [seller]
    assert other.status_code == 403

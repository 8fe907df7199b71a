"""End to end on the hand-made invoice-line export (tests/exports/invoices): one file feeds
orders, lines, products and customers; GBP, no exchange rates; float-looking customer ids; no
line numbers, statuses or update times; credit notes (``C`` invoices). Gross and net revenue
by day and by month equal a plain DuckDB query over the export's files.

The export lands as it is: guest lines (no customer id) are sales on the guest member, and the
two bad-debt adjustments (``A`` invoices, not sales) are left out by ``where:``, counted as
filtered.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lakeshop.app.project import Project
from lakeshop.observe.quality import member_revenue

from .conftest import deliver, quarantined, rows, run_ok

EXPORT = Path(__file__).parents[1] / "exports" / "invoices"

CONFIG = r"""
name: online-retail
landing: landing
base_currency: GBP
credit_notes: {order_id_pattern: '^C'}
sources:
  stores:
    # the shop's declaration of itself (one online store, in pounds), as a file of its own:
    # configuration, not export data
    path: stores.csv
  customers:
    path: "invoices/*.csv"
    # guest lines (no customer id) describe no customer: left out of this source, counted
    where: "\"Customer ID\" <> '' AND Invoice NOT LIKE 'A%'"
    mapping:
      customer_id: {sql: "regexp_replace(\"Customer ID\", '\\.0$', '')"}
      country: Country
  products:
    path: "invoices/*.csv"
    # A invoices adjust bad debt: not sales, not products
    where: "Invoice NOT LIKE 'A%'"
    mapping: {product_id: StockCode, name: Description}
  orders:
    path: "invoices/*.csv"
    where: "Invoice NOT LIKE 'A%'"
    mapping:
      order_id: Invoice
      customer_id: {sql: "regexp_replace(\"Customer ID\", '\\.0$', '')"}
      # configuration, not data: the shop declares its one store and that it sells online
      store_id: {const: UK-WEB}
      channel: {const: online}
      order_ts: {sql: "strptime(InvoiceDate, '%m/%d/%Y %H:%M')"}
  order_items:
    path: "invoices/*.csv"
    where: "Invoice NOT LIKE 'A%'"
    mapping: {order_id: Invoice, product_id: StockCode, quantity: Quantity, unit_price: Price}
"""


def build(root: Path) -> Project:
    """The export delivered under ``root`` with its lakeshop.yml, run once."""
    (root / "lakeshop.yml").write_text(CONFIG)
    files = {f"invoices/{p.name}": p.read_text() for p in sorted(EXPORT.glob("*.csv"))}
    files["stores.csv"] = "store_id,name,channel,currency\nUK-WEB,Online shop,online,GBP\n"
    deliver(root / "landing", files)
    project = Project.load(root)
    run_ok(project)
    return project


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return build(tmp_path_factory.mktemp("invoices"))


def _plain(project: Project, period: str) -> dict[str, tuple[Decimal, Decimal]]:
    """Gross and net revenue per day or month, straight from the landing files."""
    landing = project.directory / "landing" / "invoices" / "*.csv"
    bucket = "CAST(ts AS DATE)" if period == "day" else "CAST(DATE_TRUNC('month', ts) AS DATE)"
    found = duckdb.execute(
        f"""
        WITH lines AS (
            SELECT
                strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS ts,
                Invoice LIKE 'C%' OR CAST(Quantity AS INTEGER) < 0 AS credit,
                CAST(Quantity AS INTEGER) * CAST(Price AS DECIMAL(18, 2)) AS total
            FROM read_csv('{landing}', all_varchar = true)
            WHERE Invoice NOT LIKE 'A%'  -- bad-debt adjustments are not sales
        )
        SELECT
            CAST({bucket} AS VARCHAR) AS p,
            COALESCE(SUM(total) FILTER (WHERE NOT credit), 0) AS gross,
            COALESCE(SUM(total) FILTER (WHERE NOT credit), 0)
                - COALESCE(SUM(ABS(total)) FILTER (WHERE credit), 0) AS net
        FROM lines
        GROUP BY ALL
        """
    ).fetchall()
    return {p: (Decimal(g), Decimal(n)) for p, g, n in found}


def test_nothing_is_quarantined_and_every_row_is_accounted_for(shop: Project):
    assert quarantined(shop) == {}
    events = rows(shop, "SELECT * FROM _system.events")
    for e in events:
        assert e["rows_in"] == (
            e["rows_written"]
            + e["rows_quarantined"]
            + e["rows_deduplicated"]
            + (e["rows_filtered"] or 0)
        ), e
    landing = shop.directory / "landing" / "invoices" / "*.csv"
    [(count, guests, adjustments)] = duckdb.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE "Customer ID" IS NULL),
            count(*) FILTER (WHERE Invoice LIKE 'A%')
        FROM read_csv('{landing}', all_varchar = true)"""
    ).fetchall()
    assert guests > 0 and adjustments == 2
    bronze = {e["table_name"]: e for e in events if e["table_name"].startswith("bronze.")}
    for source in ("orders", "order_items", "products"):
        e = bronze[f"bronze.{source}"]
        assert (e["rows_in"], e["rows_filtered"]) == (count, adjustments), source
    # guest lines feed no customer: filtered out of the customers source, not lost
    assert bronze["bronze.customers"]["rows_filtered"] == guests
    files = rows(shop, "SELECT source, rows, rows_filtered FROM _system.files")
    assert sum(f["rows_filtered"] for f in files if f["source"] == "orders") == adjustments
    # every line but the adjustments is a line of gold, guests' too (the same item twice on
    # one invoice stays two lines)
    sales = rows(shop, "SELECT count(*) AS n FROM gold.fact_sales")[0]["n"]
    assert sales == count - adjustments


def test_guest_lines_are_sales_on_the_guest_member(shop: Project):
    landing = shop.directory / "landing" / "invoices" / "*.csv"
    [(guest_revenue,)] = duckdb.execute(
        f"""SELECT SUM(CAST(Quantity AS INTEGER) * CAST(Price AS DECIMAL(18, 2)))
        FROM read_csv('{landing}', all_varchar = true)
        WHERE "Customer ID" IS NULL AND Invoice NOT LIKE 'A%' AND Invoice NOT LIKE 'C%'"""
    ).fetchall()
    assert guest_revenue > 0
    members = {r["members_of"]: r for r in member_revenue(shop).to_pylist()}
    assert members["guest customer"]["revenue_base"] == guest_revenue
    assert members["any inferred member"]["revenue_base"] == 0


def test_gross_and_net_revenue_by_day_equal_the_export(shop: Project):
    plain = _plain(shop, "day")
    gold = {
        str(r["sales_date"]): (r["total_revenue"], r["net_revenue"])
        for r in rows(shop, "SELECT * FROM gold.agg_daily_sales")
    }
    assert gold == plain
    assert any(g != n for g, n in plain.values())  # credit notes are there


def test_gross_and_net_revenue_by_month_equal_the_export(shop: Project):
    gold = {
        str(r["month"]): (r["revenue_base"], r["net_revenue"])
        for r in rows(shop, "SELECT * FROM gold.store_performance_monthly")
    }
    assert gold == _plain(shop, "month")


def test_credit_notes_are_returns_and_ids_are_clean(shop: Project):
    returns = rows(shop, "SELECT * FROM gold.fact_returns")
    assert returns and all(r["is_credit_note"] and r["order_id"].startswith("C") for r in returns)
    customers = [r["customer_id"] for r in rows(shop, "SELECT customer_id FROM silver.customers")]
    assert customers and not [c for c in customers if "." in c]

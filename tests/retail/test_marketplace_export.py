"""End to end on the hand-made marketplace export (tests/exports/marketplace): BRL without
exchange rates; orders in two yearly files (the 2018 one without the carrier date); one row per
unit sold with its seller and freight; payments by sequence with installments and no time; a
customer file covering a tenth of the customers; Portuguese categories, a translation file.

The mapping invents nothing: the order's status reaches its lines by ``lookup:``, categories are
translated by ``lookup:`` (untranslated ones kept as given), codes by ``values:``; orders whose
customer never arrives land on inferred customers (``hold_days: 0``). Gross and net revenue by
day and by month equal a plain DuckDB query over the export's files.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lakeshop.app.project import Project
from lakeshop.observe.quality import member_revenue

from .conftest import deliver, quarantined, rows, run_ok, snapshot

EXPORT = Path(__file__).parents[1] / "exports" / "marketplace"

CONFIG = r"""
name: marketplace
landing: landing
base_currency: BRL
orphans: {hold_days: 0}   # a customer missing from the export is inferred at once
sources:
  stores:
    # the marketplace's declaration of itself (one store, in reais), a file of its own:
    # configuration, not export data
    path: stores.csv
  customers:
    path: olist_customers_dataset.csv
    mapping:
      city: customer_city
      state: customer_state
      postal_code: customer_zip_code_prefix
  sellers:
    path: olist_sellers_dataset.csv
    mapping: {city: seller_city, state: seller_state}
  products:
    path: olist_products_dataset.csv
    lookup:
      translation:
        path: product_category_name_translation.csv
        on: {product_category_name: product_category_name}
        columns: {category_english: product_category_name_english}
    mapping:
      # translated where the translation file has the category, else as given (empty: none)
      category: {sql: "COALESCE(category_english, NULLIF(product_category_name, ''))"}
  orders:
    path: "orders/*.csv"
    values:
      # unavailable: the marketplace could not fulfil the order (no sale)
      status: {canceled: cancelled, unavailable: cancelled, invoiced: placed, processing: placed}
    mapping:
      # configuration, not data: the marketplace's one store and its channel
      store_id: {const: marketplace}
      channel: {const: marketplace}
      order_ts: order_purchase_timestamp
      status: order_status
  order_items:
    path: olist_order_items_dataset.csv
    lookup:
      orders:
        path: "orders/*.csv"
        on: {order_id: order_id}
        columns:
          order_status: order_status
          carrier_date: order_delivered_carrier_date   # not in the 2018 file: NULL there
          customer_date: order_delivered_customer_date
    values:
      item_status:
        canceled: cancelled
        unavailable: cancelled
        invoiced: pending
        processing: pending
    mapping:
      line_no: order_item_id
      # the export's grain, not data: one row per unit sold
      quantity: {const: 1}
      unit_price: price
      freight_amount: freight_value
      item_status: order_status
      shipped_at: carrier_date
      delivered_at: customer_date
  payments:
    path: olist_order_payments_dataset.csv
    format: csv
    values:
      payment_type: {credit_card: card, debit_card: card, boleto: bank_transfer, voucher: gift_card}
    mapping:
      payment_id: {sql: "order_id || '-' || payment_sequential"}
      amount: payment_value
      installments: payment_installments
"""

STORES = "store_id,name,channel,currency\nmarketplace,Marketplace,marketplace,BRL\n"
#: statuses of orders that are no sale (the mapping translates both to cancelled)
NO_SALE = "('canceled', 'unavailable')"


def _export_files(names: list[str] | None = None) -> dict[str, str]:
    """The export's files by landing path (all, or those named)."""
    found = {p.relative_to(EXPORT).as_posix(): p for p in sorted(EXPORT.rglob("*.csv"))}
    return {k: p.read_text() for k, p in found.items() if names is None or k in names}


def by_year() -> tuple[dict[str, str], dict[str, str], str]:
    """The export as two deliveries: 2017's orders (with their lines and payments) and the
    rest, then 2018's; and the configuration reading lines and payments from folders."""
    files = _export_files()
    orders17 = files["orders/olist_orders_2017.csv"]
    ids17 = {line.split(",")[0] for line in orders17.splitlines()[1:]}

    def split(name: str) -> tuple[str, str]:
        head, *body = files[name].splitlines()
        early = [r for r in body if r.split(",")[0] in ids17]
        late = [r for r in body if r.split(",")[0] not in ids17]
        return "\n".join([head, *early]) + "\n", "\n".join([head, *late]) + "\n"

    items17, items18 = split("olist_order_items_dataset.csv")
    pay17, pay18 = split("olist_order_payments_dataset.csv")
    shared = {
        k: v
        for k, v in files.items()
        if not k.startswith(("orders/", "olist_order_items", "olist_order_payments"))
    }
    first = {
        **shared,
        "stores.csv": STORES,
        "orders/olist_orders_2017.csv": orders17,
        "items/2017.csv": items17,
        "payments/2017.csv": pay17,
    }
    second = {
        "orders/olist_orders_2018.csv": files["orders/olist_orders_2018.csv"],
        "items/2018.csv": items18,
        "payments/2018.csv": pay18,
    }
    config = CONFIG.replace("path: olist_order_items_dataset.csv", 'path: "items/*.csv"').replace(
        "path: olist_order_payments_dataset.csv", 'path: "payments/*.csv"'
    )
    return first, second, config


def _project(root: Path) -> Project:
    (root / "lakeshop.yml").write_text(CONFIG)
    return Project.load(root)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("marketplace")
    deliver(root / "landing", {**_export_files(), "stores.csv": STORES})
    project = _project(root)
    run_ok(project)
    return project


def _plain(sql: str) -> list[tuple]:
    """A query over the export's files as given: ``{orders}``, ``{items}``, ``{customers}``."""
    paths = {
        "orders": EXPORT / "orders" / "*.csv",
        "items": EXPORT / "olist_order_items_dataset.csv",
        "customers": EXPORT / "olist_customers_dataset.csv",
        "payments": EXPORT / "olist_order_payments_dataset.csv",
    }
    tables = {
        k: f"read_csv('{p}', all_varchar = true, union_by_name = true)" for k, p in paths.items()
    }
    return duckdb.execute(sql.format(**tables)).fetchall()


def _revenue(period: str) -> dict[str, tuple[Decimal, Decimal]]:
    """Gross and net revenue (no returns in this export: equal) per day or month."""
    bucket = "ts::DATE" if period == "day" else "DATE_TRUNC('month', ts)::DATE"
    found = _plain(
        f"""
        WITH sold AS (
            SELECT CAST(o.order_purchase_timestamp AS TIMESTAMP) AS ts,
                CAST(i.price AS DECIMAL(18, 2)) AS price
            FROM {{items}} AS i JOIN {{orders}} AS o USING (order_id)
            WHERE o.order_status NOT IN {NO_SALE}
        )
        SELECT CAST({bucket} AS VARCHAR), SUM(price) FROM sold GROUP BY ALL
        """
    )
    return {p: (Decimal(g), Decimal(g)) for p, g in found}


def test_every_landing_row_is_accounted_for(shop: Project):
    assert quarantined(shop) == {}
    events = rows(shop, "SELECT * FROM _system.events")
    for e in events:
        assert e["rows_in"] == (
            e["rows_written"]
            + e["rows_quarantined"]
            + e["rows_deduplicated"]
            + (e["rows_filtered"] or 0)
        ), e
    bronze = {e["table_name"]: e["rows_in"] for e in events if e["table_name"].startswith("bronze")}
    lines = {
        "orders": sum(
            len(p.read_text().splitlines()) - 1 for p in (EXPORT / "orders").glob("*.csv")
        ),
        "order_items": len((EXPORT / "olist_order_items_dataset.csv").read_text().splitlines()) - 1,
        "payments": len((EXPORT / "olist_order_payments_dataset.csv").read_text().splitlines()) - 1,
    }
    for source, n in lines.items():
        assert bronze[f"bronze.{source}"] == n, source
    [(sold,)] = _plain("SELECT count(*) FROM {items}")
    assert rows(shop, "SELECT count(*) AS n FROM gold.fact_sales")[0]["n"] == sold


def test_gross_and_net_revenue_by_day_equal_the_export(shop: Project):
    gold = {
        str(r["sales_date"]): (r["total_revenue"], r["net_revenue"])
        for r in rows(shop, "SELECT * FROM gold.agg_daily_sales")
    }
    assert gold == _revenue("day")


def test_gross_and_net_revenue_by_month_equal_the_export(shop: Project):
    gold = {
        str(r["month"]): (r["revenue_base"], r["net_revenue"])
        for r in rows(shop, "SELECT * FROM gold.store_performance_monthly")
    }
    assert gold == _revenue("month")
    assert len(gold) == 3  # November 2017 to January 2018


def test_freight_has_its_own_column_equal_to_the_export(shop: Project):
    plain = {
        d: Decimal(f)
        for d, f in _plain(
            f"""SELECT CAST(CAST(o.order_purchase_timestamp AS TIMESTAMP)::DATE AS VARCHAR),
                SUM(CAST(i.freight_value AS DECIMAL(18, 2)))
            FROM {{items}} AS i JOIN {{orders}} AS o USING (order_id)
            WHERE o.order_status NOT IN {NO_SALE} GROUP BY ALL"""
        )
    }
    gold = {
        str(r["sales_date"]): r["freight_revenue"]
        for r in rows(shop, "SELECT * FROM gold.agg_daily_sales")
    }
    assert gold == plain


def test_orders_of_missing_customers_sit_on_inferred_members(shop: Project):
    [(share,)] = _plain(
        f"""SELECT CAST(ROUND(
            SUM(CAST(i.price AS DECIMAL(18, 2))) FILTER (WHERE c.customer_id IS NULL)
                / SUM(CAST(i.price AS DECIMAL(18, 2))), 4) AS DECIMAL(18, 4))
        FROM {{items}} AS i JOIN {{orders}} AS o USING (order_id)
        LEFT JOIN {{customers}} AS c USING (customer_id)
        WHERE o.order_status NOT IN {NO_SALE}"""
    )
    assert share > Decimal("0.8")  # the customer file covers a tenth of the customers
    figure = {r["members_of"]: r for r in member_revenue(shop).to_pylist()}
    assert figure["inferred customer"]["share_of_revenue"] == share
    assert figure["any inferred member"]["share_of_revenue"] == share
    assert figure["guest customer"]["lines"] == 0
    inferred = rows(shop, "SELECT count(*) AS n FROM gold.dim_customer WHERE is_inferred")
    [(missing,)] = _plain(
        "SELECT count(DISTINCT o.customer_id) FROM {orders} AS o "
        "LEFT JOIN {customers} AS c USING (customer_id) WHERE c.customer_id IS NULL"
    )
    assert inferred[0]["n"] == missing


def test_statuses_are_translated_and_reach_the_lines_by_lookup(shop: Project):
    statuses = {r["status"] for r in rows(shop, "SELECT DISTINCT status FROM silver.orders")}
    assert "cancelled" in statuses and "canceled" not in statuses
    [(cancelled_lines,)] = _plain(
        "SELECT count(*) FROM {items} JOIN {orders} USING (order_id) "
        f"WHERE order_status IN {NO_SALE}"
    )
    assert cancelled_lines > 0
    found = rows(
        shop,
        "SELECT count(*) AS n FROM gold.fact_sales WHERE item_status = 'cancelled' "
        "AND NOT is_revenue",
    )
    assert found[0]["n"] == cancelled_lines
    # the 2018 orders file has no carrier date: its lines' shipped_at is NULL, 2017's are not
    shipped = rows(
        shop,
        "SELECT YEAR(order_ts) AS y, count(shipped_at) AS shipped, count(delivered_at) AS came "
        "FROM gold.fact_sales GROUP BY ALL ORDER BY y",
    )
    assert shipped[0]["shipped"] > 0 and shipped[1]["shipped"] == 0 and shipped[1]["came"] > 0


def test_categories_are_translated_by_lookup_untranslated_ones_kept(shop: Project):
    categories = {
        r["category"] for r in rows(shop, "SELECT DISTINCT category FROM silver.products")
    }
    assert {"bed_bath_table", "pc_gamer"} <= categories
    assert "cama_mesa_banho" not in categories and "" not in categories
    assert None in categories  # products without a category in the export


def test_sellers_are_a_dimension_of_the_lines(shop: Project):
    sellers = rows(shop, "SELECT count(*) AS n FROM gold.dim_seller WHERE seller_id IS NOT NULL")
    assert sellers[0]["n"] == 25
    unmatched = rows(
        shop,
        "SELECT count(*) AS n FROM gold.fact_sales AS f "
        "LEFT JOIN gold.dim_seller AS d USING (seller_sk) WHERE d.seller_id IS NULL",
    )
    assert unmatched[0]["n"] == 0


def test_payments_are_keyed_by_an_expression_with_the_orders_time(shop: Project):
    payments = rows(shop, "SELECT * FROM gold.fact_payments ORDER BY payment_id")
    assert len(payments) == _plain("SELECT count(*) FROM {payments}")[0][0]
    orders = {r["order_id"]: r for r in rows(shop, "SELECT * FROM silver.orders")}
    for p in payments:
        assert p["payment_id"].startswith(p["order_id"] + "-")
        # the export has no payment time: gold takes the order's (silver keeps NULL)
        assert p["transaction_ts"] == orders[p["order_id"]]["order_ts"]
    assert {p["payment_type"] for p in payments} <= {"card", "bank_transfer", "gift_card"}
    assert max(p["installments"] for p in payments) > 1


@pytest.mark.slow
def test_delivered_in_two_steps_equals_a_full_refresh(tmp_path: Path):
    """2017's files (with 2017's lines and payments), then 2018's: the incremental lakehouse
    equals one rebuilt from raw, and the two-step revenue equals the export's."""
    first, second, config = by_year()
    landing = tmp_path / "landing"
    deliver(landing, first, delivery=1)
    (tmp_path / "lakeshop.yml").write_text(config)
    project = Project.load(tmp_path)
    run_ok(project)
    deliver(landing, second, delivery=2)
    run_ok(project)
    incremental = snapshot(project)
    gold = {
        str(r["sales_date"]): (r["total_revenue"], r["net_revenue"])
        for r in rows(project, "SELECT * FROM gold.agg_daily_sales")
    }
    assert gold == _revenue("day")
    shutil.rmtree(landing)  # a full refresh reads the raw copies, lookups' included
    landing.mkdir()
    run_ok(project, full_refresh=True)
    assert snapshot(project) == incremental

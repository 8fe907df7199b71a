"""Any base currency (ISO 4217): the base converts at 1 with or without exchange rates; an
amount in a currency without a rate is kept and flagged, never dropped from revenue."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from tests.conftest import cli, one_error_line

from .conftest import quarantined, rows, run_ok

SHOP = """
base_currency: {base}
landing: exports
sources:
  stores:
    path: shops.csv
  orders:
    path: sales.csv
    mapping: {{order_id: ticket, customer_id: client, store_id: shop, order_ts: sold_at, currency: cur}}
  order_items:
    path: sales.csv
    mapping:
      order_id: ticket
      product_id: sku
      quantity: qty
      unit_price: price
      item_status: {{const: delivered}}
  customers:
    path: clients.csv
    mapping: {{customer_id: client}}
  products:
    path: skus.csv
    mapping: {{product_id: sku}}
{extra}"""

CLIENTS = "client\nK1\nK2\n"
SKUS = "sku\nA\nB\n"


def test_a_one_currency_retailer_without_exchange_rates_has_its_revenue(exported):
    # GBP everywhere, no fx file, no currency on the sales: the store's, which is the base
    project = exported(
        SHOP.format(base="GBP", extra=""),
        {
            "shops.csv": "store_id,name,currency\nLON,London,GBP\n",
            "clients.csv": CLIENTS,
            "skus.csv": SKUS,
            "sales.csv": (
                "ticket,client,shop,sold_at,cur,sku,qty,price\n"
                "T1,K1,LON,2026-03-02 10:00:00,,A,2,3.25\n"
                "T2,K2,LON,2026-03-02 11:30:00,,B,1,19.99\n"
                "T3,K1,LON,2026-03-03 09:00:00,GBP,A,3,3.10\n"
            ),
        },
    )
    run_ok(project)
    assert quarantined(project) == {}
    lines = rows(project, "SELECT * FROM gold.fact_sales ORDER BY order_id")
    assert {r["currency"] for r in lines} == {"GBP"}
    assert all(r["fx_rate"] == 1 and not r["fx_missing"] for r in lines)
    assert all(r["sales_total_base"] == r["sales_total"] for r in lines)
    landing = Path(project.directory) / "exports" / "sales.csv"
    plain = duckdb.execute(
        f"SELECT CAST(sold_at AS DATE) AS d, SUM(qty * CAST(price AS DECIMAL(18, 2))) AS total "
        f"FROM read_csv('{landing}', all_varchar = false) GROUP BY d ORDER BY d"
    ).fetchall()
    days = rows(
        project,
        "SELECT sales_date, total_revenue, net_revenue, unconverted_lines "
        "FROM gold.agg_daily_sales ORDER BY sales_date",
    )
    assert [(r["sales_date"], r["total_revenue"]) for r in days] == plain
    assert all(r["net_revenue"] == r["total_revenue"] and r["unconverted_lines"] == 0 for r in days)
    orders = rows(project, "SELECT order_total, order_total_base FROM gold.fact_orders")
    assert all(o["order_total"] == o["order_total_base"] for o in orders)


def test_an_amount_without_a_rate_is_kept_flagged_and_counted(exported):
    # base BRL; a JPY store with rates, one EUR order and no EUR rate at all
    project = exported(
        SHOP.format(base="BRL", extra="  fx_rates:\n    path: fx.csv\n"),
        {
            "shops.csv": "store_id,name,currency\nSP,Sao Paulo,BRL\nTYO,Tokyo,JPY\n",
            "clients.csv": CLIENTS,
            "skus.csv": SKUS,
            "fx.csv": "rate_date,currency,rate_to_base\n2026-03-01,JPY,0.033\n",
            "sales.csv": (
                "ticket,client,shop,sold_at,cur,sku,qty,price\n"
                "T1,K1,SP,2026-03-02 10:00:00,BRL,A,2,50.00\n"
                "T2,K2,SP,2026-03-02 11:00:00,EUR,B,1,20.00\n"
                "T3,K1,TYO,2026-03-02 12:00:00,,A,1,1000\n"
                "T4,K1,SP,2026-03-03 09:00:00,,B,4,10.00\n"
            ),
        },
    )
    summary = run_ok(project)
    assert quarantined(project) == {}
    lines = {r["order_id"]: r for r in rows(project, "SELECT * FROM gold.fact_sales")}
    eur = lines["T2"]
    assert eur["currency"] == "EUR" and eur["fx_missing"] and eur["fx_rate"] is None
    assert eur["sales_total"] == Decimal("20.00") and eur["sales_total_base"] is None
    assert eur["is_revenue"]  # kept as a sale: only its conversion is unknown
    assert lines["T3"]["currency"] == "JPY" and lines["T3"]["sales_total_base"] == Decimal("33.00")
    assert lines["T1"]["sales_total_base"] == Decimal("100.00") and not lines["T1"]["fx_missing"]
    days = {
        str(r["sales_date"]): r
        for r in rows(project, "SELECT * FROM gold.agg_daily_sales WHERE channel IS NULL")
    }
    # the day with the unconverted line: revenue unknown (never understated), counted
    assert days["2026-03-02"]["total_revenue"] is None
    assert days["2026-03-02"]["net_revenue"] is None
    assert days["2026-03-02"]["unconverted_lines"] == 1
    assert days["2026-03-02"]["total_orders"] == 3
    assert days["2026-03-03"]["total_revenue"] == Decimal("40.00")
    assert days["2026-03-03"]["unconverted_lines"] == 0
    order = rows(project, "SELECT * FROM gold.fact_orders WHERE order_id = 'T2'")[0]
    assert order["fx_missing"] and order["order_total"] == 20 and order["order_total_base"] is None
    # the quality figures: a warning per unconverted row, nothing failed or dropped
    checks = {
        (r["table_name"], r["expectation"]): r
        for r in rows(
            project,
            f"SELECT * FROM _system.expectations WHERE run_id = '{summary.run_id}'",
        )
    }
    assert checks[("gold.fact_sales", "sales_total_converted")]["failed"] == 1
    assert checks[("gold.agg_daily_sales", "revenue_converted")]["failed"] == 1
    assert checks[("gold.agg_daily_sales", "revenue_converted")]["action"] == "warn"


def test_silver_accepts_any_iso_currency_and_refuses_others(exported):
    project = exported(
        SHOP.format(base="USD", extra=""),
        {
            "shops.csv": "store_id,name,currency\nZA,Cape Town,ZAR\nXX,Nowhere,XYZ\nNO,None,XXX\n",
            "clients.csv": CLIENTS,
            "skus.csv": SKUS,
            "sales.csv": "ticket,client,shop,sold_at,cur,sku,qty,price\n",
        },
    )
    run_ok(project)
    assert [r["store_id"] for r in rows(project, "SELECT store_id FROM silver.stores")] == ["ZA"]
    refused = rows(
        project, "SELECT store_id, _failed_expectations FROM silver.stores__quarantine ORDER BY 1"
    )
    assert [(r["store_id"], list(r["_failed_expectations"])) for r in refused] == [
        ("NO", ["currency_in_domain"]),
        ("XX", ["currency_in_domain"]),
    ]


@pytest.mark.parametrize("code", ["XYZ", "gbp", "XXX", "EURO"])
def test_a_base_currency_outside_iso_4217_is_a_one_line_config_error(tmp_path: Path, code: str):
    (tmp_path / "lakeshop.yml").write_text(f"base_currency: {code}\n")
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path)
    assert info.value.key == "base_currency"
    assert "ISO 4217" in str(info.value) and repr(code) in str(info.value)
    status, _, stderr = cli("--project", tmp_path, "status")
    assert status == 2
    line = one_error_line(stderr)
    assert "setting 'base_currency': expected an ISO 4217 currency code" in line
    assert f"found '{code}'" in line


def test_the_base_currency_defaults_to_usd(tmp_path: Path):
    assert Project.load(tmp_path).config.base_currency == "USD"

"""Credit notes become returns and marts carry net revenue; freight and sellers reach gold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lakeshop.app.project import Project
from tests.conftest import assert_healthy

from .conftest import deliver, export_project, quarantined, rows, run_ok, snapshot

CONFIG = """
landing: exports
base_currency: GBP
credit_notes: {order_id_pattern: '^C'}
sources:
  stores:
    path: shop.csv
  customers:
    path: lines.csv
    mapping: {customer_id: customer}
  products:
    path: lines.csv
    mapping: {product_id: code}
  orders:
    path: lines.csv
    mapping:
      order_id: invoice
      customer_id: customer
      store_id: {const: WEB}
      channel: {const: online}
      order_ts: at
  order_items:
    path: lines.csv
    mapping: {order_id: invoice, product_id: code, quantity: qty, unit_price: price}
"""

FILES = {
    "shop.csv": "store_id,name,channel,currency\nWEB,Web shop,online,GBP\n",
    "lines.csv": (
        "invoice,code,qty,price,customer,at\n"
        "1001,A,4,2.50,K1,2026-05-01 09:00:00\n"
        "1001,B,1,10.00,K1,2026-05-01 09:00:00\n"
        "1002,A,2,2.50,K2,2026-05-01 15:00:00\n"
        # a credit invoice returning part of 1001 the next day, no reference to its line
        "C1003,A,-2,2.50,K1,2026-05-02 10:00:00\n"
        # a credit note by its id alone (positive quantity)
        "C1004,B,1,10.00,K2,2026-05-02 11:00:00\n"
        # a negative line on a normal invoice (a correction): a credit note too
        "1005,B,-1,10.00,K2,2026-05-02 12:00:00\n"
        "1005,A,2,2.50,K2,2026-05-02 12:00:00\n"
    ),
}


@pytest.fixture(scope="module")
def credited(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Built once for the module, read-only."""
    project = export_project(tmp_path_factory.mktemp("credited"), CONFIG, FILES)
    run_ok(project)
    return project


def test_credit_notes_are_not_quarantined_nor_revenue(credited: Project):
    assert quarantined(credited) == {}
    sales = {
        (r["order_id"], r["product_id"]): r for r in rows(credited, "SELECT * FROM gold.fact_sales")
    }
    credits = {k for k, r in sales.items() if r["is_credit_note"]}
    assert credits == {("C1003", "A"), ("C1004", "B"), ("1005", "B")}
    assert all(not sales[k]["is_revenue"] for k in credits)
    assert sales[("C1003", "A")]["sales_total"] == Decimal("-5.00")


def test_credit_notes_become_returns_dated_at_their_order(credited: Project):
    returns = {r["return_id"]: r for r in rows(credited, "SELECT * FROM gold.fact_returns")}
    assert set(returns) == {"credit:C1003:1", "credit:C1004:1", "credit:1005:2"}
    c = returns["credit:C1003:1"]
    assert (c["return_qty"], c["return_amount"], c["return_amount_base"]) == (
        2,
        Decimal("5.00"),
        Decimal("5.00"),
    )
    assert str(c["returned_at"]) == "2026-05-02 10:00:00" and c["is_credit_note"]
    assert c["product_id"] == "A" and c["customer_id"] == "K1" and c["reason"] == "credit note"
    assert returns["credit:1005:2"]["return_amount"] == Decimal("10.00")
    orders = {r["order_id"]: r for r in rows(credited, "SELECT * FROM gold.fact_orders")}
    assert orders["C1003"]["completion_status"] == "Credit note"
    assert orders["C1003"]["order_total"] == 0 and orders["C1003"]["credit_line_count"] == 1
    assert orders["1005"]["order_total"] == Decimal("5.00")
    assert orders["1005"]["credit_line_count"] == 1


def test_net_revenue_is_gross_minus_the_days_returns_and_credit_notes(credited: Project):
    days = {
        str(r["sales_date"]): r
        for r in rows(credited, "SELECT * FROM gold.agg_daily_sales ORDER BY sales_date")
    }
    assert days["2026-05-01"]["total_revenue"] == Decimal("25.00")
    assert days["2026-05-01"]["net_revenue"] == Decimal("25.00")
    assert days["2026-05-02"]["total_revenue"] == Decimal("5.00")
    assert days["2026-05-02"]["net_revenue"] == Decimal("5.00") - Decimal("25.00")
    assert days["2026-05-02"]["return_count"] == 3
    store_day = rows(credited, "SELECT * FROM gold.daily_revenue WHERE sales_date = '2026-05-02'")
    assert [(r["revenue_base"], r["net_revenue"]) for r in store_day] == [
        (Decimal("5.00"), Decimal("-20.00"))
    ]
    month = rows(credited, "SELECT * FROM gold.store_performance_monthly")[0]
    assert month["revenue_base"] == Decimal("30.00")
    assert month["returned_amount_base"] == Decimal("25.00")
    assert month["net_revenue"] == Decimal("5.00")


def test_without_the_rule_a_credit_invoice_with_positive_lines_is_a_sale(exported):
    project = exported(CONFIG.replace("credit_notes: {order_id_pattern: '^C'}\n", ""), FILES)
    run_ok(project)
    credits = rows(project, "SELECT order_id FROM gold.fact_sales WHERE is_credit_note ORDER BY 1")
    assert [r["order_id"] for r in credits] == ["1005", "C1003"]  # negative quantities only


def test_negative_quantities_can_be_declared_defects(exported):
    config = CONFIG.replace(
        "credit_notes: {order_id_pattern: '^C'}",
        "credit_notes: {negative_quantity: false}",
    )
    project = exported(config, FILES)
    run_ok(project)
    bad = rows(project, "SELECT order_id, _failed_expectations FROM silver.order_items__quarantine")
    assert sorted((r["order_id"], list(r["_failed_expectations"])) for r in bad) == [
        ("1005", ["quantity_positive"]),
        ("C1003", ["quantity_positive"]),
    ]


MARKETPLACE = """
landing: exports
base_currency: BRL
sources:
  stores:
    path: store.csv
  customers:
    path: customers.csv
  products:
    path: products.csv
  sellers:
    path: sellers.csv
    mapping: {seller_id: seller_id, city: seller_city, state: seller_state}
  orders:
    path: orders.csv
    mapping: {order_id: order_id, customer_id: customer_id, store_id: {const: MKT}, order_ts: bought, freight_amount: shipping}
  order_items:
    path: items.csv
    mapping:
      order_id: order_id
      line_no: order_item_id
      product_id: product_id
      seller_id: seller_id
      quantity: {const: 1}
      unit_price: price
      freight_amount: freight_value
"""

MARKET_FILES = {
    "store.csv": "store_id,name,channel,currency\nMKT,Marketplace,marketplace,BRL\n",
    "customers.csv": "customer_id\nc1\nc2\n",
    "products.csv": "product_id\np1\np2\n",
    "sellers.csv": "seller_id,seller_city,seller_state\ns1,sao paulo,SP\ns2,curitiba,PR\n",
    "orders.csv": (
        "order_id,customer_id,bought,shipping\n"
        "o1,c1,2017-12-01 10:00:00,\n"
        "o2,c2,2017-12-01 12:00:00,5.00\n"
        "o3,c1,2018-01-02 08:00:00,\n"
    ),
    "items.csv": (
        "order_id,order_item_id,product_id,seller_id,price,freight_value\n"
        "o1,1,p1,s1,100.00,15.10\n"
        "o1,2,p2,s2,50.00,8.90\n"
        "o2,1,p2,s2,50.00,0\n"
        "o3,1,p1,s9,100.00,20.00\n"
    ),
}


def test_freight_and_sellers_reach_gold(exported):
    project = exported(MARKETPLACE, MARKET_FILES)
    run_ok(project)
    assert quarantined(project) == {}
    sales = {
        (r["order_id"], r["line_no"]): r for r in rows(project, "SELECT * FROM gold.fact_sales")
    }
    assert sales[("o1", 1)]["freight_amount"] == Decimal("15.10")
    assert sales[("o1", 1)]["freight_base"] == Decimal("15.10")
    assert sales[("o1", 1)]["seller_sk"] == "s1"
    assert sales[("o3", 1)]["seller_id"] == "s9" and sales[("o3", 1)]["seller_sk"] == "-1"
    sellers = {r["seller_sk"]: r for r in rows(project, "SELECT * FROM gold.dim_seller")}
    assert set(sellers) == {"s1", "s2", "-1"} and sellers["s2"]["city"] == "curitiba"
    orders = {r["order_id"]: r for r in rows(project, "SELECT * FROM gold.fact_orders")}
    assert orders["o1"]["freight_total"] == Decimal("24.00")
    assert orders["o1"]["order_total"] == Decimal("174.00")
    assert orders["o2"]["freight_total"] == Decimal("5.00")  # the order's own freight
    assert orders["o2"]["order_total_base"] == Decimal("55.00")
    day = rows(project, "SELECT * FROM gold.agg_daily_sales WHERE sales_date = '2017-12-01'")[0]
    assert day["total_revenue"] == Decimal("200.00")  # goods only
    assert day["freight_revenue"] == Decimal("29.00")
    months = {
        str(r["month"]): r["freight_revenue"]
        for r in rows(project, "SELECT * FROM gold.store_performance_monthly")
    }
    assert months == {"2017-12-01": Decimal("29.00"), "2018-01-01": Decimal("20.00")}
    store_days = rows(project, "SELECT sum(freight_revenue) AS f FROM gold.daily_revenue")
    assert store_days[0]["f"] == Decimal("49.00")
    assert_healthy(project)


@pytest.mark.slow  # three runs; test_freight_and_sellers_reach_gold is its fast part
def test_later_credit_notes_freight_and_sellers_equal_a_full_refresh(exported, tmp_path):
    project = exported(MARKETPLACE + "credit_notes: {order_id_pattern: '^r'}\n", MARKET_FILES)
    run_ok(project)
    deliver(
        tmp_path / "exports",
        {
            "sellers.csv": MARKET_FILES["sellers.csv"] + "s9,recife,PE\n",
            "orders.csv": MARKET_FILES["orders.csv"] + "r4,c1,2018-01-05 08:00:00,\n",
            "items.csv": MARKET_FILES["items.csv"] + "r4,1,p1,s9,100.00,0\n",
        },
        delivery=2,
    )
    run_ok(project)
    returns = rows(project, "SELECT * FROM gold.fact_returns")
    assert [(r["return_id"], r["return_amount_base"]) for r in returns] == [
        ("credit:r4:1", Decimal("100.00"))
    ]
    sales = rows(project, "SELECT seller_sk FROM gold.fact_sales WHERE order_id = 'o3'")
    assert sales == [{"seller_sk": "s9"}]  # the seller arrived: the line points at it
    month = rows(project, "SELECT * FROM gold.store_performance_monthly WHERE month = '2018-01-01'")
    assert month[0]["net_revenue"] == Decimal("0.00")
    incremental = snapshot(project)
    run_ok(project, full_refresh=True)
    assert snapshot(project) == incremental
    assert_healthy(project)

"""Exports that lack fields: only keys, amounts and the event time are required; the rest has
an honest default (docs/gold.md) or stays NULL, and an export's own codes are translated by
``values:`` or kept and reported."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from tests.conftest import assert_healthy

from .conftest import (
    DELIVERED,
    copy_project,
    deliver,
    export_project,
    quarantined,
    rows,
    run_ok,
    snapshot,
)

# an order-line export with neither line numbers, statuses nor update times; payments with
# neither ids, times nor currencies; a customer file with ids only
CONFIG = """
landing: exports
base_currency: EUR
credit_notes: {order_id_pattern: '^CN'}
sources:
  stores:
    path: shops.csv
  customers:
    path: clients.csv
    mapping: {customer_id: id}
  products:
    path: articles.csv
    mapping: {product_id: id}
  orders:
    path: "orders_*.csv"
    mapping: {order_id: id, customer_id: client, store_id: shop, order_ts: placed, status: state}
    values:
      status: {canceled: cancelled, done: delivered}
  order_items:
    path: "lines_*.csv"
    mapping: {order_id: order, product_id: article, quantity: qty, unit_price: price, item_status: state}
    values:
      item_status: {canceled: cancelled, done: delivered, lost: null}
  payments:
    path: "payments_*.jsonl"
    format: jsonl
    mapping:
      payment_id: {sql: "order_ref || '-' || CAST(seq AS VARCHAR)"}
      order_id: order_ref
      payment_type: kind
      amount: value
      installments: parts
    values:
      payment_type: {boleto: bank_transfer, credit_card: card}
"""

BASE = {
    "shops.csv": "store_id,name,channel,currency\nS1,Web,online,EUR\n",
    "clients.csv": "id\nK1\nK2\n",
    "articles.csv": "id\nA\nB\nC\n",
    "orders_1.csv": (
        "id,client,shop,placed,state\n"
        "O1,K1,S1,2026-04-01 09:00:00,done\n"
        "O2,K2,S1,2026-04-01 10:00:00,shipped\n"
        "O3,K1,S1,2026-04-02 11:00:00,canceled\n"
        "O4,K2,S1,2026-04-02 12:00:00,on_hold\n"
    ),
    # O1's lines: B twice at one price (two lines), A; O2 without any status
    "lines_1.csv": (
        "order,article,qty,price,state\n"
        "O1,B,1,5.00,done\n"
        "O2,C,2,7.50,\n"
        "O1,A,3,2.00,done\n"
        "O1,B,1,5.00,done\n"
        "O3,A,1,2.00,canceled\n"
        "O4,C,1,7.50,weird\n"
        "O2,A,1,2.00,\n"
    ),
    "payments_1.jsonl": "\n".join(
        json.dumps(p)
        for p in [
            {"order_ref": "O1", "seq": 1, "kind": "credit_card", "value": 14.0, "parts": 3},
            {"order_ref": "O1", "seq": 2, "kind": "voucher", "value": 2.0, "parts": 1},
            {"order_ref": "O2", "seq": 1, "kind": "boleto", "value": 17.0},
        ]
    )
    + "\n",
}


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Built once for the module, read-only: a test that runs again works on a copy."""
    project = export_project(tmp_path_factory.mktemp("partial"), CONFIG, BASE)
    run_ok(project)
    return project


def _lines(project: Project) -> dict[tuple[str, int], dict]:
    return {
        (r["order_id"], r["line_no"]): r
        for r in rows(project, "SELECT * FROM silver.order_items ORDER BY ALL")
    }


def test_only_keys_amounts_and_event_times_are_required(partial: Project):
    assert quarantined(partial) == {}
    files = rows(partial, "SELECT path, status, error FROM _system.files ORDER BY path")
    assert all(f["status"] == "ingested" for f in files), files


def test_lines_without_numbers_are_numbered_by_content_within_their_order(partial: Project):
    lines = _lines(partial)
    # by product, then price, quantity, ...; equal lines by their row in the file
    assert [(k, lines[k]["product_id"]) for k in sorted(lines)] == [
        (("O1", 1), "A"),
        (("O1", 2), "B"),
        (("O1", 3), "B"),
        (("O2", 1), "A"),
        (("O2", 2), "C"),
        (("O3", 1), "A"),
        (("O4", 1), "C"),
    ]
    assert lines[("O1", 2)]["_source_row"] < lines[("O1", 3)]["_source_row"]


def test_numbering_is_stable_across_row_order_and_re_deliveries(partial: Project, tmp_path: Path):
    partial = copy_project(partial, tmp_path)
    before = {k: (v["product_id"], v["quantity"]) for k, v in _lines(partial).items()}
    # the same lines delivered again, in another order, two of them now delivered
    shuffled = BASE["lines_1.csv"].splitlines()
    again = "\n".join([shuffled[0], *reversed(shuffled[1:])]).replace(",\n", ",done\n") + "\n"
    deliver(tmp_path / "exports", {"lines_2.csv": again}, delivery=2)
    run_ok(partial)
    after = _lines(partial)
    assert {k: (v["product_id"], v["quantity"]) for k, v in after.items()} == before
    assert after[("O2", 1)]["item_status"] == "delivered"
    assert after[("O2", 2)]["item_status"] == "delivered"
    # the later delivery wins: its time is the lines' updated_at
    assert {str(after[k]["updated_at"]) for k in [("O2", 1), ("O2", 2)]} == {"2026-01-01 02:00:00"}
    orders = {r["order_id"]: r for r in rows(partial, "SELECT * FROM gold.fact_orders")}
    assert orders["O2"]["completion_status"] == "Completed"


def test_updated_at_defaults_to_the_delivery_time(partial: Project):
    first = "2026-01-01 01:00:00"  # DELIVERED + 1 hour: the files' modified time
    assert DELIVERED == 1_767_225_600
    for table in ("silver.orders", "silver.order_items", "silver.customers", "silver.stores"):
        stamps = {str(r["u"]) for r in rows(partial, f"SELECT updated_at AS u FROM {table}")}
        assert stamps == {first}, table


def test_a_line_without_status_is_revenue_and_an_order_without_delivered_line_is_in_progress(
    partial: Project,
):
    sales = {
        (r["order_id"], r["line_no"]): r for r in rows(partial, "SELECT * FROM gold.fact_sales")
    }
    assert sales[("O2", 1)]["item_status"] is None and sales[("O2", 1)]["is_revenue"]
    orders = {r["order_id"]: r for r in rows(partial, "SELECT * FROM gold.fact_orders")}
    assert orders["O2"]["completion_status"] == "In progress"
    assert orders["O2"]["order_total"] == Decimal("17.00")
    assert orders["O1"]["completion_status"] == "Completed"
    assert orders["O3"]["completion_status"] == "Cancelled"
    day = rows(partial, "SELECT * FROM gold.agg_daily_sales WHERE sales_date = '2026-04-01'")[0]
    assert day["total_revenue"] == Decimal("33.00") and day["total_orders"] == 2


def test_values_translate_codes_and_unknown_codes_are_kept_and_reported(partial: Project):
    orders = {r["order_id"]: r["status"] for r in rows(partial, "SELECT * FROM silver.orders")}
    assert orders == {"O1": "delivered", "O2": "shipped", "O3": "cancelled", "O4": "on_hold"}
    lines = _lines(partial)
    assert lines[("O3", 1)]["item_status"] == "cancelled"
    assert lines[("O4", 1)]["item_status"] == "weird"  # kept as it came
    pays = {r["payment_id"]: r for r in rows(partial, "SELECT * FROM gold.fact_payments")}
    assert {p: r["payment_type"] for p, r in pays.items()} == {
        "O1-1": "card",
        "O1-2": "voucher",
        "O2-1": "bank_transfer",
    }
    assert pays["O1-1"]["installments"] == 3 and pays["O2-1"]["installments"] is None
    checks = {
        (r["table_name"], r["expectation"]): (r["action"], r["failed"])
        for r in rows(partial, "SELECT * FROM _system.expectations")
    }
    assert checks[("silver.orders", "status_in_domain")] == ("warn", 1)
    assert checks[("silver.order_items", "item_status_in_domain")] == ("warn", 1)
    assert checks[("silver.payments", "payment_type_in_domain")] == ("warn", 1)


def test_a_payment_without_time_or_currency_takes_its_orders(partial: Project):
    pays = {r["payment_id"]: r for r in rows(partial, "SELECT * FROM gold.fact_payments")}
    assert str(pays["O1-1"]["transaction_ts"]) == "2026-04-01 09:00:00"
    assert str(pays["O2-1"]["payment_date"]) == "2026-04-01"
    assert pays["O1-1"]["currency"] == "EUR" and pays["O1-1"]["amount_base"] == Decimal("14.00")
    silver = rows(partial, "SELECT transaction_ts FROM silver.payments")
    assert all(r["transaction_ts"] is None for r in silver)  # silver keeps what came


@pytest.mark.slow  # three runs; test_mapping_power's lookup test full-refreshes in the fast tier
def test_a_full_refresh_gives_the_same_silver_and_gold(partial: Project, tmp_path: Path):
    partial = copy_project(partial, tmp_path)
    deliver(
        tmp_path / "exports",
        {
            "orders_2.csv": "id,client,shop,placed,state\nO5,K1,S1,2026-04-03 08:00:00,done\n",
            "lines_2.csv": "order,article,qty,price,state\nO5,C,1,7.50,done\nO5,B,2,5.00,done\n"
            "O2,A,1,2.00,done\nO2,C,2,7.50,done\n",
        },
        delivery=2,
    )
    run_ok(partial)
    incremental = snapshot(partial)
    run_ok(partial, full_refresh=True)
    assert snapshot(partial) == incremental
    assert_healthy(partial)


def test_a_values_key_outside_the_contract_is_a_config_error(tmp_path: Path):
    (tmp_path / "lakeshop.yml").write_text(
        "sources:\n  orders:\n    path: o.csv\n    values: {state: {canceled: cancelled}}\n"
    )
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path)
    assert info.value.key == "sources.orders.values.state"
    assert "status" in str(info.value)

"""A retailer whose exports look nothing like ours maps them in lakeshop.yml, no Python."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError

CONFIG = """
name: other-retailer
landing: exports
sources:
  customers:
    path: "crm/clients_*.csv"
    mapping:
      customer_id: client_ref
      first_name: given
      last_name: family
      email: mail
      loyalty_tier: {const: bronze}
      updated_at: changed
  products:
    path: "pim/articles.csv"
    options: {delimiter: "|"}
    mapping:
      product_id: article
      name: label
      list_price: price_usd
      currency: {const: USD}
      updated_at: changed
  stores:
    path: "shops.csv"
    mapping: {store_id: shop, name: shop_name, channel: {const: store}, currency: cur}
  fx_rates:
    path: "fx.csv"
  orders:
    path: "erp/invoice_lines_*.txt"
    options: {delimiter: ";"}
    mapping:
      order_id: {sql: "branch || '-' || invoice_no"}
      customer_id: client_ref
      store_id: shop
      channel: {const: store}
      order_ts: sold_at
      currency: cur
      status: {sql: "CASE WHEN state = 'X' THEN 'cancelled' ELSE 'delivered' END"}
      updated_at: sold_at
  order_items:
    path: "erp/invoice_lines_*.txt"
    options: {delimiter: ";"}
    mapping:
      order_id: {sql: "branch || '-' || invoice_no"}
      line_no: line
      product_id: article
      quantity: qty
      unit_price: price
      discount_amount: {const: "0"}
      tax_amount: vat
      item_status: {sql: "CASE WHEN state = 'X' THEN 'cancelled' ELSE 'delivered' END"}
      updated_at: sold_at
"""

FILES = {
    "crm/clients_2026-02-01.csv": (
        "client_ref,given,family,mail,changed,newsletter\n"
        "K-1,ada,LOVELACE, Ada@Example.org ,2026-02-01T08:00:00,yes\n"
        "K-2,alan,turing,alan@example.org,2026-02-01T08:00:00,no\n"
    ),
    "pim/articles.csv": (
        "article|label|price_usd|changed\nA1|Kettle|25.00|2026-01-01T00:00:00\n"
        "A2|Toaster|40.00|2026-01-01T00:00:00\n"
    ),
    "shops.csv": "shop,shop_name,cur\nB1,Berlin Mitte,EUR\n",
    "fx.csv": "rate_date,currency,rate_to_base\n2026-02-01,EUR,1.100000\n2026-02-01,USD,1.000000\n",
    "erp/invoice_lines_2026-02-01.txt": (
        "branch;invoice_no;line;client_ref;shop;sold_at;cur;article;qty;price;vat;state\n"
        "B1;1001;1;K-1;B1;2026-02-01T10:00:00;EUR;A1;2;20.00;7.60;D\n"
        "B1;1001;2;K-1;B1;2026-02-01T10:00:00;EUR;A2;1;35.00;6.65;D\n"
        "B1;1002;1;K-2;B1;2026-02-01T11:00:00;EUR;A2;1;35.00;6.65;X\n"
    ),
}


@pytest.fixture
def mapped(tmp_path: Path) -> Project:
    (tmp_path / "lakeshop.yml").write_text(CONFIG)
    for name, text in FILES.items():
        path = tmp_path / "exports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Project.load(tmp_path)


def test_differently_shaped_exports_are_mapped_onto_the_contract(mapped: Project):
    summary = api.run(mapped).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    orders = api.query(mapped, "SELECT * FROM silver.orders ORDER BY order_id").to_pylist()
    assert [(o["order_id"], o["customer_id"], o["status"]) for o in orders] == [
        ("B1-1001", "K-1", "delivered"),
        ("B1-1002", "K-2", "cancelled"),
    ]
    items = api.query(mapped, "SELECT * FROM silver.order_items ORDER BY ALL").to_pylist()
    assert [(i["order_id"], i["line_no"], i["quantity"], i["unit_price"]) for i in items] == [
        ("B1-1001", 1, 2, Decimal("20.00")),
        ("B1-1001", 2, 1, Decimal("35.00")),
        ("B1-1002", 1, 1, Decimal("35.00")),
    ]
    # optional fields absent from the export are NULL, not an error
    assert all(i["shipped_at"] is None and i["delivered_at"] is None for i in items)
    customers = api.query(mapped, "SELECT * FROM silver.customers ORDER BY customer_id").to_pylist()
    assert customers[0]["email"] == "ada@example.org"
    assert customers[0]["first_name"] == "Ada" and customers[0]["last_name"] == "Lovelace"
    assert customers[0]["phone"] is None and customers[0]["loyalty_tier"] == "bronze"
    # the column the mapping does not use is rescued, not lost
    rescued = api.query(mapped, "SELECT _rescued_data FROM bronze.customers").column(0).to_pylist()
    assert all('"newsletter"' in r for r in rescued)
    for source in ("customers", "orders", "order_items", "products", "stores"):
        q = api.query(mapped, f"SELECT count(*) AS n FROM silver.{source}__quarantine")
        assert q.column(0)[0].as_py() == 0, source
    # one invoice-lines file fed two sources
    files = api.query(mapped, "SELECT source, path FROM _system.files WHERE path LIKE 'erp/%'")
    assert sorted(files.column("source").to_pylist()) == ["order_items", "orders"]
    # the numbers: cancelled line excluded, EUR converted at 1.10
    day = api.query(mapped, "SELECT * FROM gold.agg_daily_sales").to_pylist()
    assert len(day) == 1
    revenue = (Decimal("2") * Decimal("20.00") + Decimal("7.60")) * Decimal("1.1") + (
        Decimal("35.00") + Decimal("6.65")
    ) * Decimal("1.1")
    assert day[0]["total_revenue"] == revenue.quantize(Decimal("0.01"))
    assert day[0]["total_orders"] == 1 and day[0]["total_quantity"] == 3


# two runs; test_differently_shaped_exports_are_mapped_onto_the_contract is the fast part
@pytest.mark.slow
def test_a_mapped_column_missing_from_some_files_reads_as_null_when_optional(
    mapped: Project, tmp_path: Path
):
    """A glob's file lacking the columns of optional fields (``mail``, ``changed``) is
    ingested with them NULL and the change named; one lacking a required field's column is
    refused, naming the file and the column."""
    (tmp_path / "exports/crm/clients_2026-02-02.csv").write_text("client_ref,given\nK-3,bob\n")
    (tmp_path / "exports/crm/clients_2026-02-03.csv").write_text("given,mail\nbob,b@x.org\n")
    summary = api.run(mapped).summary
    assert summary.status == "ok"
    files = {
        r["path"]: r
        for r in api.query(
            mapped, "SELECT * FROM _system.files WHERE path LIKE 'crm/clients_2026-02-0_.csv'"
        ).to_pylist()
    }
    short = files["crm/clients_2026-02-02.csv"]
    assert (short["status"], short["rows"]) == ("ingested", 1)
    assert "mail (for email)" in short["schema_change"]
    assert "changed (for updated_at)" in short["schema_change"]
    bob = api.query(mapped, "SELECT * FROM silver.customers WHERE customer_id = 'K-3'").to_pylist()
    assert bob[0]["first_name"] == "Bob" and bob[0]["email"] is None
    refused = files["crm/clients_2026-02-03.csv"]
    assert refused["status"] == "error"
    assert refused["error"].startswith("missing required column(s) client_ref (for customer_id)")


def test_a_mapping_key_outside_the_contract_is_a_config_error(tmp_path: Path):
    (tmp_path / "lakeshop.yml").write_text(
        "sources:\n  orders:\n    path: o.csv\n    mapping: {order_number: id}\n"
    )
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path)
    assert "sources.orders.mapping.order_number" in str(info.value)
    assert "order_id" in str(info.value)

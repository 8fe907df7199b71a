"""Lineage: tables from the graph, columns from the SQL down to the landing export's columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeshop.app.project import Project, write_demo_config
from lakeshop.cli import app
from lakeshop.core.errors import LakeshopError, TableNotFound
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.lineage import ColumnNode, Lineage
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.sources import Source


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The retail pipeline; lineage is static, so no data is needed."""
    directory = tmp_path_factory.mktemp("lineage")
    write_demo_config(directory)
    return Project.load(directory)


@pytest.fixture(scope="module")
def lineage(project: Project) -> Lineage:
    return Lineage(project.graph, project.sources)


def refs(node: ColumnNode) -> set[str]:
    """Every column of the tree, as ``table.column``."""
    found = {node.ref}
    for child in node.inputs:
        found |= refs(child)
    return found


def test_table_upstream_and_downstream(lineage: Lineage):
    daily = lineage.tables("gold.agg_daily_sales")
    assert {"gold.fact_sales", "silver.order_items", "bronze.order_items"} <= set(daily["upstream"])
    assert daily["downstream"] == []
    assert "gold.fact_sales" in lineage.tables("silver.orders")["downstream"]
    # the tree reaches bronze and names its landing files
    tree = json.dumps(daily["upstream_tree"])
    assert '"landing": "order_items/order_items_*.csv (csv)"' in tree


def test_total_revenue_traces_to_order_lines_and_exchange_rates(lineage: Lineage):
    node = lineage.column("gold.agg_daily_sales", "total_revenue")
    found = refs(node)
    for column in ("quantity", "unit_price", "discount_amount", "tax_amount"):
        assert f"silver.order_items.{column}" in found
        assert f"bronze.order_items.{column}" in found
    assert "silver.fx_rates.rate_to_base" in found
    leaves = {leaf.ref for leaf in node.leaves()}
    assert {
        "landing.order_items.quantity",
        "landing.order_items.unit_price",
        "landing.order_items.discount_amount",
        "landing.order_items.tax_amount",
        "landing.fx_rates.rate_to_base",
    } <= leaves
    assert all(leaf.kind == "landing" for leaf in node.leaves())


def test_columns_match_what_the_strategies_write(lineage: Lineage):
    assert lineage.columns("gold.dim_customer")[0] == "customer_sk"
    assert lineage.columns("gold.dim_customer")[-4:] == [
        "valid_from",
        "valid_to",
        "is_current",
        "_batch_id",
    ]
    silver = lineage.columns("silver.order_items")
    assert silver[-2:] == ["_row_hash", "_batch_id"]
    assert not any(c.startswith("_raw_") for c in silver)
    assert "_rescued_data" in lineage.columns("bronze.orders")


def test_strategy_and_audit_columns_are_explained(lineage: Lineage):
    sk = lineage.column("gold.dim_customer", "customer_sk")
    assert sk.kind == "strategy" and "scd2" in sk.expression
    assert {"landing.customers.customer_id", "landing.customers.updated_at"} <= {
        leaf.ref for leaf in sk.leaves()
    }
    valid_from = lineage.column("gold.dim_product", "valid_from")
    assert valid_from.kind == "strategy" and "updated_at" in valid_from.expression
    batch = lineage.column("silver.orders", "_batch_id")
    assert batch.kind == "strategy" and not batch.inputs
    source_file = lineage.column("silver.orders", "_source_file")
    assert source_file.inputs[0].ref == "bronze.orders._source_file"
    assert source_file.inputs[0].kind == "ingest"


def test_unknown_table_or_column_names_what_exists(lineage: Lineage):
    with pytest.raises(TableNotFound, match=r"gold\.nope.*gold\.agg_daily_sales"):
        lineage.tables("gold.nope")
    with pytest.raises(LakeshopError, match=r"no column 'revenue'.*total_revenue"):
        lineage.column("gold.agg_daily_sales", "revenue")


def test_views_and_ctes_resolve():
    sources = {"sales": Source(name="sales", path="s/*.csv", fields=["id", "qty", "price"])}
    tables = [
        Table("bronze.sales", Kind.INGEST, source="sales"),
        Table(
            "silver.sales",
            Kind.VIEW,
            sql="SELECT id, CAST(qty AS INT) AS qty, CAST(price AS DECIMAL(9, 2)) AS price "
            "FROM bronze.sales",
        ),
        Table(
            "gold.totals",
            Kind.MATERIALIZED,
            sql="WITH lines AS (SELECT id, qty * price AS amount FROM silver.sales) "
            "SELECT id, SUM(amount) AS total FROM lines GROUP BY id",
        ),
    ]
    lineage = Lineage(Graph.build(tables), sources)
    assert lineage.columns("silver.sales") == ["id", "qty", "price"]
    total = lineage.column("gold.totals", "total")
    assert [i.ref for i in total.inputs] == ["silver.sales.price", "silver.sales.qty"]
    assert {leaf.ref for leaf in total.leaves()} == {"landing.sales.qty", "landing.sales.price"}


MAPPED = """
name: mapped
landing: exports
sources:
  order_items:
    path: "erp/lines_*.txt"
    mapping:
      order_id: {sql: "branch || '-' || invoice_no"}
      quantity: qty
      discount_amount: {const: "0"}
"""


def test_mapped_fields_name_the_export_column_or_expression(tmp_path: Path):
    (tmp_path / "lakeshop.yml").write_text(MAPPED)
    project = Project.load(tmp_path)
    lineage = Lineage(project.graph, project.sources)
    quantity = lineage.column("silver.order_items", "quantity").leaves()
    assert [leaf.ref for leaf in quantity] == ["landing.order_items.qty"]
    assert "erp/lines_*.txt" in quantity[0].expression
    order_id = lineage.column("bronze.order_items", "order_id").inputs[0]
    assert order_id.kind == "mapping" and "invoice_no" in order_id.expression
    assert [i.ref for i in order_id.inputs] == [
        "landing.order_items.branch",
        "landing.order_items.invoice_no",
    ]
    discount = lineage.column("bronze.order_items", "discount_amount").leaves()
    assert discount[0].kind == "constant" and "'0'" in discount[0].expression


def test_cli_lineage_table_column_json_and_errors(project: Project):
    runner = CliRunner()
    where = ["--project", str(project.directory)]
    result = runner.invoke(app, [*where, "lineage", "gold.agg_daily_sales"])
    assert result.exit_code == 0, result.output
    assert "upstream:" in result.stdout and "└── " in result.stdout
    result = runner.invoke(
        app, [*where, "lineage", "gold.agg_daily_sales.total_revenue", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "landing.fx_rates.rate_to_base" in data["sources"]
    result = runner.invoke(app, [*where, "lineage", "gold.agg_daily_sales.nope"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "total_revenue" in lines[0]

"""Dependencies come from the SQL: tables read, CTEs ignored, expectations included."""

from __future__ import annotations

import pytest

from lakeshop.core.errors import LakeshopError, SqlError
from lakeshop.pipeline.graph import Graph, driving_table, referenced_tables
from lakeshop.pipeline.model import Expectation, Kind, Table


def test_references_skip_ctes_and_keep_schema_qualified_tables():
    sql = """
        WITH recent AS (SELECT * FROM silver.orders WHERE order_ts > DATE '2026-01-01')
        SELECT r.*, c.email FROM recent r JOIN silver.customers c USING (customer_id)
        WHERE r.store_id IN (SELECT store_id FROM silver.stores)
    """
    assert referenced_tables(sql) == {"silver.orders", "silver.customers", "silver.stores"}


def test_driving_table_is_the_outermost_from():
    assert driving_table("SELECT * FROM bronze.a JOIN bronze.b USING (k)") == "bronze.a"
    assert driving_table("SELECT * FROM (SELECT * FROM bronze.a) AS x") == "bronze.a"


def test_graph_orders_parents_first_and_includes_expectation_reads():
    g = Graph.build(
        [
            Table("gold.g", Kind.MATERIALIZED, sql="SELECT * FROM silver.b"),
            Table(
                "silver.b",
                Kind.UPSERT,
                sql="SELECT * FROM bronze.b",
                expectations=(Expectation("a_known", "k IN (SELECT k FROM silver.a)"),),
            ),
            Table("silver.a", Kind.UPSERT, sql="SELECT * FROM bronze.a"),
            Table("bronze.a", Kind.INGEST, source="a"),
            Table("bronze.b", Kind.INGEST, source="b"),
        ]
    )
    order = g.order()
    assert order.index("silver.a") < order.index("silver.b") < order.index("gold.g")
    assert g.upstream["silver.b"] == {"bronze.b", "silver.a"}
    assert g.downstream("silver.a") == {"silver.b", "gold.g"}
    assert g.ancestors("gold.g") == {"silver.b", "bronze.b", "silver.a", "bronze.a"}


def test_unknown_table_and_cycles_are_reported():
    with pytest.raises(SqlError, match=r"silver\.nope"):
        Graph.build([Table("gold.g", Kind.MATERIALIZED, sql="SELECT * FROM silver.nope")])
    with pytest.raises(LakeshopError, match="cycle"):
        Graph.build(
            [
                Table("s.a", Kind.MATERIALIZED, sql="SELECT * FROM s.b"),
                Table("s.b", Kind.MATERIALIZED, sql="SELECT * FROM s.a"),
            ]
        )


def test_sql_that_does_not_parse_names_the_table():
    with pytest.raises(SqlError, match=r"gold\.bad"):
        Graph.build([Table("gold.bad", Kind.MATERIALIZED, sql="SELEC oops FROM")])


def test_scope_must_name_a_table_read_by_a_table_recomputed_in_part():
    def build(**declared: object) -> Graph:
        gold = Table("gold.g", Kind.MATERIALIZED, sql="SELECT k FROM silver.a", **declared)  # type: ignore[arg-type]
        source = Table("silver.a", Kind.UPSERT, sql="SELECT * FROM bronze.a")
        return Graph.build([gold, source, Table("bronze.a", Kind.INGEST, source="a")])

    with pytest.raises(SqlError, match=r"gold\.g: scope needs incremental_by"):
        build(scope={"silver.a": "k"})
    with pytest.raises(SqlError, match=r"does not read: silver\.other"):
        build(
            incremental_by="k",
            touched={"silver.a": "SELECT k FROM silver.a"},
            scope={"silver.other": "k"},
        )

"""The runner on a small pipeline of its own: order, isolation of failures, upsert semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Action, Expectation, Kind, Table
from lakeshop.pipeline.runner import RunSummary, run
from lakeshop.pipeline.sources import Source
from tests.conftest import assert_healthy

ITEMS_SQL = """
SELECT
    NULLIF(TRIM(id), '') AS id,
    TRY_CAST(val AS INTEGER) AS val,
    TRY_CAST(updated_at AS TIMESTAMP) AS updated_at,
    _source_file,
    _source_row
FROM bronze.items
"""


def tables(strict_limit: int = 1000) -> list[Table]:
    return [
        Table("bronze.items", Kind.INGEST, source="items"),
        Table(
            "silver.items",
            Kind.UPSERT,
            sql=ITEMS_SQL,
            keys=("id",),
            sequence="updated_at",
            expectations=(
                Expectation("id_not_null", "id IS NOT NULL"),
                Expectation("val_positive", "val > 0"),
                Expectation("val_small", "val < 100", Action.WARN),
            ),
        ),
        Table("silver.broken", Kind.MATERIALIZED, sql="SELECT no_such_column FROM bronze.items"),
        Table("gold.after_broken", Kind.MATERIALIZED, sql="SELECT * FROM silver.broken"),
        Table(
            "gold.totals",
            Kind.MATERIALIZED,
            sql="SELECT count(*) AS n, sum(val) AS total FROM silver.items",
        ),
        Table(
            "gold.strict",
            Kind.MATERIALIZED,
            sql="SELECT id, val FROM silver.items",
            expectations=(Expectation("val_limit", f"val <= {strict_limit}", Action.FAIL),),
        ),
    ]


def write(landing: Path, name: str, text: str) -> None:
    path = landing / "items" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def go(root: Path, strict_limit: int = 1000) -> tuple[RunSummary, Lakehouse]:
    lakehouse = Lakehouse(root / "lakehouse")
    source = Source(path="items/*.csv", name="items", fields=["id", "val", "updated_at"])
    graph = Graph.build(tables(strict_limit))
    with DuckDBEngine(lakehouse) as engine:
        summary = run(graph, engine, landing=root / "landing", sources={"items": source})
    assert_healthy(graph, lakehouse)  # failed or not, the run leaves the invariants intact
    return summary, lakehouse


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(
        tmp_path / "landing",
        "items_1.csv",
        "id,val,updated_at\n"
        "a,5,2026-01-02T00:00:00\n"
        "b,7,2026-01-01T00:00:00\n"
        ",3,2026-01-01T00:00:00\n"
        "c,-1,2026-01-01T00:00:00\n"
        "d,500,2026-01-01T00:00:00\n"
        "b,7,2026-01-01T00:00:00\n",
    )
    return tmp_path


def test_a_failure_skips_its_dependants_and_the_rest_goes_on(root: Path):
    summary, lakehouse = go(root)
    status = {o.name: o.status for o in summary.outcomes}
    assert status["silver.broken"] == "failed"
    assert status["gold.after_broken"] == "skipped"
    assert status["silver.items"] == "ok" and status["gold.totals"] == "ok"
    assert summary.status == "failed"
    events = {e["table_name"]: e for e in system.read(lakehouse, system.EVENTS).to_pylist()}
    assert "no_such_column" in events["silver.broken"]["error"]
    assert events["gold.after_broken"]["status"] == "skipped"
    runs = system.read(lakehouse, system.RUNS).to_pylist()
    assert sorted(r["status"] for r in runs) == ["failed", "running"]


def test_drop_expectations_quarantine_with_reasons_and_accounting_holds(root: Path):
    summary, lakehouse = go(root)
    items = {r["id"]: r["val"] for r in lakehouse.read("silver.items").to_pylist()}
    assert items == {"a": 5, "b": 7, "d": 500}
    quarantine = {
        r["_source_row"]: r["_failed_expectations"]
        for r in lakehouse.read("silver.items__quarantine").to_pylist()
    }
    assert quarantine == {3: ["id_not_null"], 4: ["val_positive"]}
    outcome = next(o for o in summary.outcomes if o.name == "silver.items")
    r = outcome.result
    assert (r.rows_in, r.rows_written, r.rows_quarantined, r.rows_deduplicated) == (6, 3, 2, 1)
    warn = next(e for e in r.expectations if e.name == "val_small")
    assert warn.failed == 1  # counted, row kept


def test_an_older_version_arriving_later_does_not_overwrite(root: Path):
    go(root)
    write(
        root / "landing",
        "items_2.csv",
        "id,val,updated_at\na,4,2026-01-01T00:00:00\nb,8,2026-01-03T00:00:00\n",
    )
    summary, lakehouse = go(root)
    items = {r["id"]: r["val"] for r in lakehouse.read("silver.items").to_pylist()}
    assert items == {"a": 5, "b": 8, "d": 500}
    r = next(o for o in summary.outcomes if o.name == "silver.items").result
    assert (r.rows_in, r.rows_written, r.rows_deduplicated) == (2, 1, 1)
    totals = lakehouse.read("gold.totals").to_pylist()
    assert totals == [{"n": 3, "total": 513, "_batch_id": 2}]


def test_a_fail_expectation_commits_nothing(root: Path):
    summary, lakehouse = go(root, strict_limit=1000)
    assert lakehouse.exists("gold.strict")
    version = lakehouse.version("gold.strict")
    write(root / "landing", "items_2.csv", "id,val,updated_at\nz,2000,2026-01-05T00:00:00\n")
    summary, lakehouse = go(root)
    strict = next(o for o in summary.outcomes if o.name == "gold.strict")
    assert strict.status == "failed" and "val_limit" in (strict.error or "")
    assert lakehouse.version("gold.strict") == version
    assert {r["id"] for r in lakehouse.read("gold.strict").to_pylist()} == {"a", "b", "d"}


def test_full_refresh_rebuilds_silver_and_its_quarantine_without_doubling(root: Path):
    go(root)
    lakehouse = Lakehouse(root / "lakehouse")
    before = sorted(r["id"] or "" for r in lakehouse.read("silver.items__quarantine").to_pylist())
    source = Source(path="items/*.csv", name="items", fields=["id", "val", "updated_at"])
    with DuckDBEngine(lakehouse) as engine:
        summary = run(
            Graph.build(tables()),
            engine,
            landing=root / "landing",
            sources={"items": source},
            full_refresh=True,
        )
    r = next(o for o in summary.outcomes if o.name == "silver.items").result
    assert (r.rows_in, r.rows_written, r.rows_quarantined) == (6, 3, 2)
    after = sorted(r["id"] or "" for r in lakehouse.read("silver.items__quarantine").to_pylist())
    assert after == before
    assert {r["id"] for r in lakehouse.read("silver.items").to_pylist()} == {"a", "b", "d"}


def test_a_view_stores_nothing_and_is_readable_downstream(root: Path):
    lakehouse = Lakehouse(root / "lakehouse")
    source = Source(path="items/*.csv", name="items", fields=["id", "val", "updated_at"])
    graph = Graph.build(
        [
            *tables(),
            Table("gold.big_items", Kind.VIEW, sql="SELECT * FROM silver.items WHERE val > 6"),
            Table(
                "gold.big_count", Kind.MATERIALIZED, sql="SELECT count(*) AS n FROM gold.big_items"
            ),
        ]
    )
    with DuckDBEngine(lakehouse) as engine:
        run(graph, engine, landing=root / "landing", sources={"items": source})
    assert not lakehouse.exists("gold.big_items")
    assert lakehouse.read("gold.big_count").column("n").to_pylist() == [2]

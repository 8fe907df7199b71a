"""Incremental runs: nothing new means nothing written; a new day means only its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import driving_table
from tests.conftest import copy_days


def _versions(project: Project) -> dict[str, int | None]:
    lakehouse = project.lakehouse()
    return {name: lakehouse.version(name) for name in lakehouse.tables()}


def test_rerun_without_new_files_writes_nothing_and_a_new_day_reads_only_its_files(
    retailer: Path, tmp_path: Path
):
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    copy_days(retailer, tmp_path / "landing", days)
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    first = api.run(project).summary
    assert first.status == "ok"

    data_tables = [t for t in project.lakehouse().tables() if not t.startswith("_system.")]
    before = _versions(project)
    second = api.run(project).summary
    assert second.status == "ok"
    after = _versions(project)
    assert {t: after[t] for t in data_tables} == {t: before[t] for t in data_tables}
    assert all(o.result.rows_in == 0 for o in second.outcomes if o.kind.value != "materialized")
    assert all(o.result.rows_written == 0 for o in second.outcomes)
    # silver and gold know it from the Delta logs, before binding an upstream (runner: idle)
    stored = [o for o in second.outcomes if o.kind.value not in ("ingest", "view")]
    assert stored and all(o.result.note == "up to date" for o in stored), [
        (o.name, o.result.note) for o in stored if o.result.note != "up to date"
    ]

    new_files = copy_days(retailer, tmp_path / "landing", ["2026-01-04"])
    third = api.run(project).summary
    assert third.status == "ok"
    files = system.read(project.lakehouse(), system.FILES).to_pylist()
    in_third = sorted(f["path"] for f in files if f["batch_id"] == third.batch_id)
    assert in_third == sorted(p.relative_to(tmp_path / "landing").as_posix() for p in new_files)
    bronze_in = {o.name: o.result.rows_in for o in third.outcomes if o.name.startswith("bronze.")}
    assert sum(bronze_in.values()) == sum(
        f["rows"] + f["rejected_lines"] for f in files if f["batch_id"] == third.batch_id
    )
    # silver read only what its upstream wrote in this run
    written = {o.name: o.result.rows_written for o in third.outcomes}
    for o in third.outcomes:
        if o.name.startswith("silver.") and not o.name.endswith("__quarantine"):
            driving = driving_table(project.graph.tables[o.name].sql)
            assert o.result.rows_in == written[driving] + o.result.retried, o.name  # type: ignore[index]
    # every file is ingested exactly once over the three runs
    ingested = [f["path"] for f in files if f["status"] in ("ingested", "error")]
    assert len(ingested) == len(set(ingested))


@pytest.mark.slow
def test_incremental_equals_one_run_over_all_files(retailer: Path, tmp_path: Path):
    step = tmp_path / "step"
    whole = tmp_path / "whole"
    for d in ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]:
        copy_days(retailer, step / "landing", [d])
        write_demo_config(step)
        assert api.run(Project.load(step)).summary.status == "ok"
    copy_days(retailer, whole / "landing", ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"])
    write_demo_config(whole)
    assert api.run(Project.load(whole)).summary.status == "ok"
    for table in [
        "silver.customers",
        "silver.order_items",
        "silver.payments",
        "gold.agg_daily_sales",
    ]:
        cols = (
            "* EXCLUDE (_batch_id, _row_hash)"
            if table.startswith("silver")
            else "* EXCLUDE (_batch_id)"
        )
        sql = f"SELECT {cols} FROM {table} ORDER BY ALL"
        a = api.query(Project.load(step), sql)
        b = api.query(Project.load(whole), sql)
        assert a.num_rows > 0
        assert a.schema == b.schema, table
        differing = [
            c for c in a.column_names if a.column(c).to_pylist() != b.column(c).to_pylist()
        ]
        assert not differing, (table, differing)

"""Full refresh from the raw copies and replay of ingestion dates end in the same tables."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.cli import app
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, snapshot
from lakeshop.pipeline import system
from tests.conftest import copy_days
from tests.pipeline.conftest import SMALL_DAYS

# each test runs the pipeline several times end to end
pytestmark = pytest.mark.slow


def _incremental(small_retailer: Path, tmp_path: Path) -> Project:
    """A project that has ingested the retailer one day per run."""
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    for day in SMALL_DAYS:
        copy_days(small_retailer, project.landing, [day])
        assert api.run(project).summary.status == "ok"
    return project


def _today(project: Project) -> date:
    runs = system.read(project.lakehouse(), system.RUNS)
    return date.fromisoformat(str(runs.column("started_at")[0].as_py().date()))


def _log(project: Project) -> list[dict[str, object]]:
    return system.read(project.lakehouse(), system.FILES).to_pylist()


def test_full_refresh_rebuilds_every_table_from_raw_without_the_landing_folder(
    small_retailer: Path, tmp_path: Path
) -> None:
    project = _incremental(small_retailer, tmp_path)
    before = snapshot(project)
    ingested = [r for r in _log(project) if r["status"] in ("ingested", "error")]
    assert any(name.endswith("__rejects") and rows for name, rows in before.items())
    assert any(name.endswith("__quarantine") and rows for name, rows in before.items())
    shutil.rmtree(project.landing)

    summary = api.run(project, full_refresh=True).summary

    assert summary.status == "ok", [o.error for o in summary.failed]
    assert compare(before, snapshot(project)) == []
    assert diagnose(project).problems == []
    replayed = [r for r in _log(project) if r["batch_id"] == summary.batch_id]
    assert {r["status"] for r in replayed} == {"replayed"}
    assert sorted((r["source"], r["path"]) for r in replayed) == sorted(
        (r["source"], r["path"]) for r in ingested
    )
    bronze = next(o for o in summary.outcomes if o.name == "bronze.orders")
    assert bronze.result.note.startswith(f"{len(SMALL_DAYS)} replayed from raw")
    # the landing folder back: nothing is new, nothing is ingested twice
    copy_days(small_retailer, project.landing, SMALL_DAYS)
    assert api.run(project).summary.status == "ok"
    assert compare(before, snapshot(project)) == []
    assert [r for r in _log(project) if r["status"] == "ingested"] == [
        r for r in ingested if r["status"] == "ingested"
    ]


def test_full_refresh_also_ingests_new_landing_files(small_retailer: Path, tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(small_retailer, project.landing, SMALL_DAYS[:2])
    assert api.run(project).summary.status == "ok"
    copy_days(small_retailer, project.landing, SMALL_DAYS[2:])
    assert api.run(project).summary.status == "ok"
    expected = snapshot(project)

    other = tmp_path / "other"
    write_demo_config(other)
    project2 = Project.load(other)
    copy_days(small_retailer, project2.landing, SMALL_DAYS[:2])
    assert api.run(project2).summary.status == "ok"
    copy_days(small_retailer, project2.landing, SMALL_DAYS[2:])
    summary = api.run(project2, full_refresh=True).summary

    assert summary.status == "ok", [o.error for o in summary.failed]
    assert compare(expected, snapshot(project2)) == []
    assert diagnose(project2).problems == []
    statuses = {r["status"] for r in _log(project2) if r["batch_id"] == summary.batch_id}
    assert statuses == {"replayed", "ingested"}


def test_replay_of_an_ingestion_date_changes_nothing_downstream(
    small_retailer: Path, tmp_path: Path
) -> None:
    project = _incremental(small_retailer, tmp_path)
    before = snapshot(project)
    today = _today(project)

    nothing = api.replay(project, today + timedelta(days=1), today + timedelta(days=2)).summary
    assert nothing.status == "ok"
    assert not [r for r in _log(project) if r["status"] == "replayed"]

    summary = api.replay(project, today, today).summary

    assert summary.status == "ok", [o.error for o in summary.failed]
    assert compare(before, snapshot(project)) == []
    assert diagnose(project).problems == []
    lakehouse = project.lakehouse()
    bronze = lakehouse.read("bronze.orders").to_pylist()
    assert {r["_batch_id"] for r in bronze} == {summary.batch_id}
    keys = [(r["_source_file"], r["_source_row"]) for r in bronze]
    assert len(keys) == len(set(keys))
    runs = system.read(lakehouse, system.RUNS).to_pylist()
    assert {r["trigger"] for r in runs if r["run_id"] == summary.run_id} == {
        f"replay {today}..{today}"
    }


def test_replay_command_and_its_range_check(small_retailer: Path, tmp_path: Path) -> None:
    project = _incremental(small_retailer, tmp_path)
    before = snapshot(project)
    today = _today(project).isoformat()
    runner = CliRunner()
    done = runner.invoke(
        app, ["--project", str(tmp_path), "replay", "--from", today, "--to", today]
    )
    # 3: the history's unreadable files are read again and refused again, each named
    assert done.exit_code in (0, 3), done.output
    assert (done.exit_code == 3) == ("refused: " in done.output), done.output
    assert "replayed from raw" in done.output
    assert compare(before, snapshot(project)) == []
    bad = runner.invoke(
        app, ["--project", str(tmp_path), "replay", "--from", today, "--to", "2000-01-01"]
    )
    assert bad.exit_code != 0
    assert "before --from" in bad.output


def test_a_killed_full_refresh_is_resumed_by_the_next_run(
    small_retailer: Path, tmp_path: Path
) -> None:
    project = _incremental(small_retailer, tmp_path)
    before = snapshot(project)
    lakehouse = project.lakehouse()
    runs = system.read(lakehouse, system.RUNS).to_pylist()
    # a full refresh killed after it replaced bronze.orders, before logging its files
    system.append(
        lakehouse,
        system.RUNS,
        [
            runs[-1]
            | {"run_id": "killed", "batch_id": 99, "status": "running", "full_refresh": True}
        ],
    )
    lakehouse.write("bronze.orders", lakehouse.read("bronze.orders").slice(0, 5), "overwrite")

    summary = api.run(project).summary

    assert summary.status == "ok"
    assert compare(before, snapshot(project)) == []
    assert diagnose(project).problems == []

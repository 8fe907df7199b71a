"""Run history (``lakeshop history``) and table freshness (``lakeshop status``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.cli import app
from lakeshop.datagen import generate
from lakeshop.observe import history as observe
from lakeshop.pipeline import system


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Three runs on two tiny days: one failed, one ok, one that finds a dead run to abort."""
    directory = tmp_path_factory.mktemp("history")
    generate(directory / "landing", days=2, scale=0.02, seed=3, defects=0.0)
    write_demo_config(directory)
    project = Project.load(directory)
    # a fact before anything it reads exists: the table fails, so does the run
    assert api.run(project, select=["gold.fact_sales"]).summary.status == "failed"
    assert api.run(project).summary.status == "ok"
    # a run whose process died: still marked running when the next one starts
    dead = datetime.now(UTC).replace(tzinfo=None)
    system.append(
        project.lakehouse(),
        system.RUNS,
        [{"run_id": "19990101T000000-999999", "status": "running", "started_at": dead}],
    )
    assert api.run(project).summary.status == "ok"
    return project


def test_history_lists_runs_newest_first_with_their_latest_status(project: Project):
    runs = observe.history(project).to_pylist()
    assert [r["status"] for r in runs] == ["ok", "aborted", "ok", "failed"]
    assert [r["started_at"] for r in runs] == sorted((r["started_at"] for r in runs), reverse=True)
    latest, aborted, full, failed = runs
    assert failed["tables_failed"] == 1 and failed["tables_ok"] == 0
    assert failed["rows_written"] == 0 and "gold.fact_sales" in failed["error"]
    assert full["tables_failed"] == 0 and full["tables_ok"] == len(project.graph.tables)
    events = system.read(project.lakehouse(), system.EVENTS).to_pylist()
    assert full["rows_written"] == sum(
        e["rows_written"] for e in events if e["run_id"] == full["run_id"]
    )
    assert full["rows_written"] > 0 and full["duration_s"] is not None
    assert aborted["run_id"] == "19990101T000000-999999"
    assert aborted["duration_s"] is not None and aborted["tables_ok"] == 0
    assert latest["rows_written"] == 0  # nothing new to read


def test_history_days_counts_back_from_the_newest_run(tmp_path: Path):
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    newest = datetime(2020, 3, 10, 6)
    rows = [
        {
            "run_id": f"run-{age}",
            "status": "ok",
            "started_at": newest - timedelta(days=age),
            "ended_at": newest - timedelta(days=age) + timedelta(seconds=90),
        }
        for age in (0, 1, 5)
    ]
    system.append(project.lakehouse(), system.RUNS, rows)
    assert [r["run_id"] for r in observe.history(project, days=2).to_pylist()] == [
        "run-0",
        "run-1",
    ]
    everything = observe.history(project).to_pylist()
    assert len(everything) == 3 and everything[0]["duration_s"] == 90.0


def test_freshness_is_the_latest_business_time_and_hours_since_refresh(project: Project):
    fresh = observe.freshness(project)
    orders = fresh["silver.orders"]
    assert orders["latest_data_column"] == "order_ts"
    latest = api.query(project, "SELECT max(order_ts) AS m FROM silver.orders").column(0)[0]
    assert orders["latest_data"] == latest.as_py()
    assert 0 <= orders["hours_since_refresh"] < 1
    assert fresh["silver.fx_rates"]["latest_data_column"] == "rate_date"
    assert fresh["gold.agg_daily_sales"]["latest_data_column"] == "sales_date"
    assert fresh["bronze.orders"]["latest_data"] is None  # bronze keeps text as received


def test_cli_history_and_status(project: Project):
    runner = CliRunner()
    where = ["--project", str(project.directory)]
    result = runner.invoke(app, [*where, "history", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["ok", "aborted", "ok", "failed"]
    result = runner.invoke(app, [*where, "history", "--days", "1"])
    assert result.exit_code == 0 and "aborted" in result.stdout and "failed" in result.stdout
    result = runner.invoke(app, [*where, "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["table"]: r for r in json.loads(result.stdout)}
    assert rows["gold.fact_sales"]["latest_data"] and rows["bronze.orders"]["latest_data"] == ""
    assert rows["gold.fact_sales"]["hours_since_refresh"] < 1

"""``lakeshop quality``: expectation pass rates of a run, a sample of the rows it quarantined
with their reasons, and the quarantine rate over runs, checked against the Delta tables."""

from __future__ import annotations

import json

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.observe import quality
from lakeshop.pipeline import system
from tests.conftest import cli, one_error_line


def runs_of(project: Project) -> list[str]:
    """The ids of the project's runs, oldest first."""
    return sorted({r["run_id"] for r in system.read(project.lakehouse(), system.RUNS).to_pylist()})


def test_trend_per_table_is_quarantined_over_rows_read_per_run(observed: Project):
    trend = quality.quarantine_trend(observed).to_pylist()
    events = system.read(observed.lakehouse(), system.EVENTS).to_pylist()
    silver = [e for e in events if e["table_name"].startswith("silver.") and e["rows_in"]]
    assert {r["run_id"] for r in trend} == set(runs_of(observed))  # both runs read rows
    by_key = {(r["run_id"], r["table_name"]): r for r in trend}
    for e in silver:
        row = by_key[(e["run_id"], e["table_name"])]
        assert (row["rows_in"], row["rows_quarantined"]) == (e["rows_in"], e["rows_quarantined"])
        assert row["quarantine_rate"] == pytest.approx(
            e["rows_quarantined"] / e["rows_in"], abs=1e-6
        )
        assert not row["is_total"]
    for run in runs_of(observed):
        mine = [e for e in silver if e["run_id"] == run]
        total = by_key[(run, "all silver")]
        assert total["is_total"] and total["rows_in"] == sum(e["rows_in"] for e in mine)
        assert total["rows_quarantined"] == sum(e["rows_quarantined"] for e in mine) > 0
    started = [r["started_at"] for r in trend]
    assert started == sorted(started)  # oldest first


def test_trend_of_one_table_and_of_the_last_runs(observed: Project):
    orders = quality.quarantine_trend(observed, "silver.orders").to_pylist()
    assert [r["table_name"] for r in orders] == ["silver.orders", "silver.orders"]
    last = quality.quarantine_trend(observed, runs=1, totals_only=True).to_pylist()
    assert [r["run_id"] for r in last] == runs_of(observed)[-1:]
    assert [r["table_name"] for r in last] == ["all silver"]


def test_quarantined_sample_rows_are_in_quarantine_with_their_reasons(observed: Project):
    run = runs_of(observed)[0]
    sample = quality.quarantined(observed, run, rows=3).to_pylist()
    tables = {r["table_name"] for r in sample}
    assert {"silver.orders", "bronze.payments"} <= tables
    for table in tables:
        assert sum(r["table_name"] == table for r in sample) <= 3
    for r in sample:
        where = f"_source_file = '{r['source_file']}' AND _source_row = {r['source_row']}"
        if r["table_name"].startswith("bronze."):  # a malformed line, kept with its reason
            held = api.query(
                observed,
                f"SELECT 'malformed line: ' || reason AS f, line_text AS v, _run_id "
                f"FROM {r['table_name']}__rejects WHERE {where}",
            ).to_pylist()
            assert {"f": r["failed_expectations"], "v": r["row_values"], "_run_id": run} in held
            continue
        held = api.query(
            observed,
            f"SELECT array_to_string(_failed_expectations, ', ') AS f, _run_id "
            f"FROM {r['table_name']}__quarantine WHERE {where}",
        ).to_pylist()
        assert {"f": r["failed_expectations"], "_run_id": run} in held
        values = json.loads(r["row_values"])
        assert values and not any(k.startswith("_") for k in values)
        declared = {e.name for e in observed.graph.tables[r["table_name"]].expectations}
        assert set(r["failed_expectations"].split(", ")) <= declared


def test_report_of_a_chosen_run_and_table(observed: Project):
    first = runs_of(observed)[0]
    found = quality.report(observed, first, "silver.orders", sample_rows=2)
    assert found.run_id == first
    assert set(found.expectations.column("table_name").to_pylist()) == {"silver.orders"}
    assert set(found.quarantined.column("table_name").to_pylist()) == {"silver.orders"}
    assert 0 < found.quarantined.num_rows <= 2
    assert set(found.trend.column("table_name").to_pylist()) == {"silver.orders"}
    everything = quality.report(observed, first)
    assert everything.trend.column("table_name").to_pylist() == ["all silver"] * 2


def test_cli_quality_shows_the_four_parts(observed: Project):
    where = ("--project", observed.directory)
    code, out, _ = cli(*where, "quality", "--sample", "1")
    assert code == 0
    assert "expectations of run" in out and "pass_rate" in out
    assert "rows quarantined or rejected by run" in out and "failed_expectations" in out
    assert "quarantine rate over the last 20 runs (all silver tables)" in out
    assert "all silver" in out and "quarantine_rate" in out
    assert "revenue on guest and inferred members" in out and "share_of_revenue" in out
    code, out, _ = cli(*where, "quality", "--table", "silver.orders", "--format", "json")
    whole = json.loads(out)
    assert code == 0
    assert set(whole) == {"run_id", "expectations", "quarantined", "trend", "members"}
    assert whole["run_id"] == runs_of(observed)[-1]
    assert {r["table_name"] for r in whole["quarantined"]} <= {"silver.orders"}
    assert [r["table_name"] for r in whole["trend"]] == ["silver.orders"] * 2


def test_cli_quality_csv_needs_one_section(observed: Project):
    where = ("--project", observed.directory)
    code, _, err = cli(*where, "quality", "--format", "csv")
    assert code == 2 and "--section" in one_error_line(err)
    code, out, _ = cli(*where, "quality", "--format", "csv", "--section", "trend")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith('"run_id","started_at","table_name"')
    assert len(lines) == 3 and all('"all silver"' in line for line in lines[1:])


def test_quality_of_an_empty_lakehouse(tmp_path):
    from lakeshop.app.project import write_demo_config

    write_demo_config(tmp_path)
    code, out, _ = cli("--project", tmp_path, "quality")
    assert code == 0 and "no expectations recorded yet" in out
    code, out, _ = cli("--project", tmp_path, "quality", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "run_id": None,
        "expectations": [],
        "quarantined": [],
        "trend": [],
        "members": [],
    }

"""Structured logs: every line of a run names the run; ``--log-format json`` for machines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from lakeshop.app.project import Project
from lakeshop.core import logs
from lakeshop.pipeline import system
from tests.conftest import cli


def test_json_logs_of_a_run_are_one_object_a_line_with_the_run_id(
    clean_retailer: Path, project_factory: Callable[[Path], Project]
):
    project = project_factory(clean_retailer)
    code, out, err = cli("--project", project.directory, "--log-format", "json", "run")
    assert code == 0, err
    assert "run " in out and " ok:" in out  # the console output for humans is unchanged
    lines = [json.loads(line) for line in err.splitlines()]  # every line parses
    run_id = system.read(project.lakehouse(), system.RUNS).column("run_id")[0].as_py()
    assert lines and all(line["run_id"] == run_id for line in lines)
    assert all({"ts", "level", "event", "logger"} <= set(line) for line in lines)
    assert lines[0]["event"] == "run started" and lines[-1]["event"] == "run ok"
    tables = [line for line in lines if line["event"].startswith("table ")]
    assert {t["table"] for t in tables} == set(project.graph.tables)
    orders = next(t for t in tables if t["table"] == "silver.orders")
    assert orders["level"] == "info" and orders["status"] == "ok"
    assert (
        orders["rows_in"]
        == orders["rows_written"] + orders["rows_quarantined"] + orders["rows_deduplicated"]
    )
    files = [line for line in lines if line["event"] == "file ingested"]
    assert files and all(f["table"].startswith("bronze.") and f["path"] for f in files)


def test_text_logs_name_the_run_and_default_to_warnings_only(
    clean_retailer: Path, project_factory: Callable[[Path], Project]
):
    project = project_factory(clean_retailer)
    where = ("--project", project.directory)
    code, _, err = cli(*where, "run", "--select", "bronze.orders")
    assert code == 0 and err == ""  # nothing at warning level in a clean run
    code, _, err = cli(*where, "--log-format", "text", "run", "--select", "gold.fact_sales")
    assert code == 1  # its upstream tables were not selected, so it cannot be computed
    run_id = max(system.read(project.lakehouse(), system.RUNS).column("run_id").to_pylist())
    lines = err.splitlines()
    assert lines and all(f" run={run_id} " in line for line in lines)
    failed = next(line for line in lines if "table failed" in line)
    assert " ERROR " in failed and "table=gold.fact_sales" in failed and "error=" in failed


def test_records_outside_a_run_have_no_run_id(capsys):
    logs.configure("json", logging.INFO)
    try:
        log = logs.get_logger("tests")
        log.info("outside")
        with logs.run_context("R1"):
            log.warning("inside", extra={"table": "silver.x"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        logs.configure("text", logging.WARNING)
    assert [(x["event"], x["run_id"]) for x in lines] == [("outside", None), ("inside", "R1")]
    assert lines[1]["table"] == "silver.x" and lines[1]["level"] == "warning"

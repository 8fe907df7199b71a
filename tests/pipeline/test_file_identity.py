"""A file is known by its path and its content: duplicates and re-deliveries are recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.cli.output import progress_line
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, snapshot
from lakeshop.pipeline import system
from lakeshop.pipeline.runner import RunSummary
from tests.conftest import copy_days
from tests.pipeline.conftest import SMALL_DAYS

FX = "fx_rates/fx_rates_2026-01-01.csv"


def _project(small_retailer: Path, tmp_path: Path) -> Project:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(small_retailer, project.landing, SMALL_DAYS[:1])
    assert api.run(project).summary.status == "ok"
    return project


def _entries(project: Project, source: str) -> list[dict[str, object]]:
    log = system.read(project.lakehouse(), system.FILES).to_pylist()
    return [r for r in log if r["source"] == source]


def _note(summary: RunSummary, table: str) -> str:
    return next(o.result.note for o in summary.outcomes if o.name == table)


def test_same_content_under_a_second_name_is_a_duplicate_counted_once(
    small_retailer: Path, tmp_path: Path
) -> None:
    project = _project(small_retailer, tmp_path)
    before = snapshot(project)
    fx = project.landing / FX
    shutil.copyfile(fx, fx.with_name("fx_rates_2026-01-01 (copy).csv"))
    orders = next((project.landing / "orders").glob("*.csv"))
    shutil.copyfile(orders, orders.with_name("orders_resent.csv"))

    summary = api.run(project).summary

    assert summary.status == "ok"
    assert _note(summary, "bronze.fx_rates") == "1 duplicate"
    assert "1 duplicate" in progress_line(
        next(o for o in summary.outcomes if o.name == "bronze.fx_rates")
    )
    dup = [r for r in _entries(project, "fx_rates") if r["status"] == "duplicate"]
    assert [r["path"] for r in dup] == ["fx_rates/fx_rates_2026-01-01 (copy).csv"]
    assert dup[0]["rows"] == 0
    assert dup[0]["error"] == f"duplicate delivery: same content as {FX}"  # said once
    assert (project.lakehouse().root / str(dup[0]["raw_path"])).is_file()
    assert compare(before, snapshot(project)) == []  # counted once: no table changed
    assert diagnose(project).problems == []
    again = api.run(project).summary  # recorded once: not seen as new again
    assert _note(again, "bronze.fx_rates") == ""
    assert len(_entries(project, "fx_rates")) == len(SMALL_DAYS[:1]) + 1


@pytest.mark.slow  # three runs; the duplicate test is this file's fast part
def test_changed_file_under_an_existing_name_is_a_redelivery(
    small_retailer: Path, tmp_path: Path
) -> None:
    project = _project(small_retailer, tmp_path)
    fx = project.landing / FX
    first = next(r for r in _entries(project, "fx_rates") if r["path"] == FX)
    rows_before = project.lakehouse().read("bronze.fx_rates").num_rows
    lines = fx.read_text().splitlines()
    fx.write_text("\n".join([*lines, lines[-1].replace("2026-01-01", "2026-01-02")]) + "\n")
    new = len(copy_days(small_retailer / "fx_rates", fx.parent, SMALL_DAYS[1:2]))

    summary = api.run(project).summary

    assert summary.status == "ok"
    assert _note(summary, "bronze.fx_rates") == f"{new} new files, 1 redelivery"
    redelivered = [r for r in _entries(project, "fx_rates") if r["status"] == "redelivered"]
    assert [r["path"] for r in redelivered] == [FX]
    assert str(first["sha256"]) in str(redelivered[0]["error"])
    assert redelivered[0]["rows"] == len(lines)
    bronze = project.lakehouse().read("bronze.fx_rates")
    added = sum(
        int(str(r["rows"]))
        for r in _entries(project, "fx_rates")
        if r["status"] == "ingested" and r["batch_id"] == summary.batch_id
    )
    assert bronze.num_rows == rows_before + len(lines) + added
    assert diagnose(project).problems == []

    # a full refresh from raw keeps both deliveries of the path, and what silver made of them
    expected = snapshot(project)
    shutil.rmtree(project.landing)
    refreshed = api.run(project, full_refresh=True).summary
    assert refreshed.status == "ok"
    assert compare(expected, snapshot(project)) == []
    assert diagnose(project).problems == []

"""A replay or run that fails mid-table leaves its quarantine rows exactly once (issue 16,
problem 2), and ``doctor`` fails on a quarantine holding a row twice."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, snapshot
from tests.conftest import copy_days

pytestmark = pytest.mark.slow

TABLES = ("silver.orders", "silver.order_items", "silver.payments")


@pytest.fixture
def two_projects(tmp_path: Path, retailer: Path) -> tuple[Project, Project]:
    copy_days(retailer, tmp_path / "base" / "landing", ["2026-01-01"])
    write_demo_config(tmp_path / "base")
    shutil.copytree(tmp_path / "base", tmp_path / "calm")
    return Project.load(tmp_path / "base"), Project.load(tmp_path / "calm")


def failing_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The silver tables' own commits fail (their quarantines' go through): as a read-only
    table folder or Ctrl-C inside the table's step would."""
    write = DuckDBEngine.write

    def refuse(self: DuckDBEngine, name: str, *args: Any, **kwargs: Any) -> int:
        if name in TABLES:
            raise OSError(30, "Read-only file system", name)
        return write(self, name, *args, **kwargs)

    monkeypatch.setattr(DuckDBEngine, "write", refuse)


def duplicates(project: Project) -> dict[str, int]:
    out = {}
    for name in TABLES:
        q = f"{name}__quarantine"
        total, distinct = (
            api.query(
                project,
                f"SELECT count(*) AS n, count(DISTINCT (_source_file, _source_row)) AS d FROM {q}",
            )
            .to_pylist()[0]
            .values()
        )
        out[q] = total - distinct
    return out


@pytest.mark.parametrize("failing", ["replay", "run"])
def test_rows_are_quarantined_once_after_a_failed_step(
    failing: str, two_projects: tuple[Project, Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, calm = two_projects
    today = date.today()
    if failing == "replay":
        assert api.run(project).summary.status == "ok"
        failing_commits(monkeypatch)
        assert api.replay(project, today, today).summary.status == "failed"
    else:
        failing_commits(monkeypatch)
        assert api.run(project).summary.status == "failed"
    monkeypatch.undo()
    assert api.run(project).summary.status == "ok"
    assert sum(duplicates(project).values()) == 0, duplicates(project)
    assert diagnose(project).problems == []
    # undisturbed: the same steps without the fault
    assert api.run(calm).summary.status == "ok"
    if failing == "replay":
        assert api.replay(calm, today, today).summary.status == "ok"
    assert compare(snapshot(calm), snapshot(project)) == []


def test_doctor_fails_on_a_row_quarantined_twice(
    two_projects: tuple[Project, Project],
) -> None:
    project, _ = two_projects
    assert api.run(project).summary.status == "ok"
    lakehouse = project.lakehouse()
    quarantine = lakehouse.read("silver.orders__quarantine")
    assert quarantine.num_rows > 0
    lakehouse.write("silver.orders__quarantine", quarantine.slice(0, 1), "append")
    problems = diagnose(project).problems
    assert any("quarantined once" in p and "silver.orders__quarantine" in p for p in problems)

"""Projects over small hand-made exports: a ``lakeshop.yml`` and files written by the test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.pipeline.runner import RunSummary

#: the modified time given to the n-th delivery of a test (deliveries need distinct times)
DELIVERED = 1_767_225_600  # 2026-01-01 00:00:00 UTC


def deliver(landing: Path, files: dict[str, str], delivery: int = 1) -> None:
    """Write ``files`` (landing-relative path → text) as the ``delivery``-th delivery: their
    modified time is one hour per delivery after :data:`DELIVERED`."""
    for name, text in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        stamp = DELIVERED + 3600 * delivery
        os.utime(path, (stamp, stamp))


@pytest.fixture
def exported(tmp_path: Path) -> Callable[..., Project]:
    """``exported(config, files)``: a project with that ``lakeshop.yml`` (landing ``exports``)
    and those files delivered once."""

    def make(config: str, files: dict[str, str]) -> Project:
        return export_project(tmp_path, config, files)

    return make


def export_project(directory: Path, config: str, files: dict[str, str]) -> Project:
    """A project in ``directory`` with that ``lakeshop.yml`` (landing ``exports``) and those
    files delivered once (for a module-scoped fixture; tests take ``exported``)."""
    (directory / "lakeshop.yml").write_text(config)
    deliver(directory / "exports", files)
    return Project.load(directory)


def copy_project(project: Project, directory: Path) -> Project:
    """A copy of a built project (files' modified times kept) in ``directory``: a test that
    writes works on it and leaves the module's shared one as it was."""
    shutil.copytree(project.directory, directory, symlinks=True, dirs_exist_ok=True)
    return Project.load(directory)


def rows(project: Project, sql: str) -> list[dict[str, Any]]:
    return api.query(project, sql).to_pylist()


def run_ok(project: Project, **kwargs: Any) -> RunSummary:
    summary = api.run(project, **kwargs).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    return summary


def quarantined(project: Project) -> dict[str, int]:
    """Rows in each non-empty silver quarantine."""
    out = {}
    for name in project.lakehouse().tables():
        if name.startswith("silver.") and name.endswith("__quarantine"):
            n = rows(project, f"SELECT count(*) AS n FROM {name}")[0]["n"]
            if n:
                out[name] = n
    return out


def snapshot(project: Project) -> dict[str, list[tuple]]:
    """Every silver and gold table's rows (without ``_batch_id``), sorted."""
    out = {}
    for name in project.lakehouse().tables():
        if name.split(".")[0] in ("silver", "gold") and "__" not in name:
            table = api.query(project, f"SELECT * EXCLUDE (_batch_id) FROM {name} ORDER BY ALL")
            out[name] = [tuple(r.values()) for r in table.to_pylist()]
    return out

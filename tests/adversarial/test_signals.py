"""Signals (issue 16, problem 6): SIGINT or SIGTERM stops a run at the next safe point, says so,
records the run ``interrupted`` and releases the lock; a second signal exits at once. Either
way the next run resumes and the lakehouse equals an undisturbed run's."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.observe.history import history
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, ingestion_problems, run_problems, snapshot
from lakeshop.pipeline import system
from lakeshop.pipeline.interrupt import EXIT_STATUS, MESSAGE
from lakeshop.pipeline.lock import holder
from tests.conftest import copy_days

pytestmark = pytest.mark.slow


@pytest.fixture
def two_projects(tmp_path: Path, retailer: Path) -> tuple[Project, Project]:
    """The same landing (the retailer's first day) in two projects: one to disturb, one not."""
    copy_days(retailer, tmp_path / "base" / "landing", ["2026-01-01"])
    write_demo_config(tmp_path / "base")
    shutil.copytree(tmp_path / "base", tmp_path / "calm")
    return Project.load(tmp_path / "base"), Project.load(tmp_path / "calm")


def start(project: Project) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(project.directory), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )


def wait_for_line(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if text in line:
            return
    raise AssertionError(f"the run ended before printing {text!r}")


def recovers_to_undisturbed(project: Project, calm: Project) -> None:
    assert api.run(project).summary.status == "ok"
    assert api.run(calm).summary.status == "ok"
    assert compare(snapshot(calm), snapshot(project)) == []
    assert ingestion_problems(project) == [] and run_problems(project) == []
    assert diagnose(project).problems == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_at_a_safe_point(
    signum: int, two_projects: tuple[Project, Project]
) -> None:
    project, calm = two_projects
    proc = start(project)
    wait_for_line(proc, "bronze.")  # ingesting: the first table is done
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_STATUS, err
    assert MESSAGE in err and "Traceback" not in err, err
    runs = system.read(project.lakehouse(), system.RUNS).to_pylist()
    last = max((r for r in runs if r["status"] != "running"), key=lambda r: r["batch_id"])
    assert (last["status"], last["error"]) == ("interrupted", MESSAGE)
    assert holder(project.lakehouse()) is None  # the lock was released
    assert "gold." not in out  # it stopped well before the end
    assert history(project).to_pylist()[0]["status"] == "interrupted"
    recovers_to_undisturbed(project, calm)


def test_a_second_signal_exits_at_once_and_the_next_run_resumes(
    two_projects: tuple[Project, Project],
) -> None:
    project, calm = two_projects
    proc = start(project)
    wait_for_line(proc, "bronze.")
    proc.send_signal(signal.SIGINT)
    # the second once the first was taken (Python runs one handler for signals that coalesce)
    assert proc.stderr is not None
    taken = next(line for line in proc.stderr if "stopping at the next safe point" in line)
    assert "again to stop at once" in taken
    proc.send_signal(signal.SIGINT)
    # the rest of stderr from the same reader: the iteration above may already hold the final
    # line in its buffer (the first signal's safe point can come before the second signal), and
    # communicate() would read past that buffer
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == EXIT_STATUS and MESSAGE in err, err
    recovers_to_undisturbed(project, calm)

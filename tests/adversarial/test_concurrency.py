"""Concurrent writers: two ``run``s at once, ``maintain`` while a ``run`` commits, ``replay``
racing a ``run``. One writer at a time (the lock): the other is refused naming the holder, or
waits with ``--wait``; afterwards ``doctor`` passes and every table equals an undisturbed run
of the same commands one after the other."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.pipeline.lock import holder
from tests.adversarial.shop import run_ok, same_as, settled, shop

pytestmark = pytest.mark.slow


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(project.directory), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )


def until(proc: subprocess.Popen[str], text: str) -> None:
    """Read the process's output up to a line holding ``text`` (it holds the lock then)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if text in line:
            return
    raise AssertionError(f"the process ended before printing {text!r}")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Project, Project]:
    return shop(tmp_path / "base"), shop(tmp_path / "calm")


def test_two_runs_at_once_one_is_refused_or_waits(pair: tuple[Project, Project]) -> None:
    project, calm = pair
    first = start(project, "run")
    until(first, "bronze.")
    second = start(project, "run")  # refused at once: the first holds the lock
    third = start(project, "run", "--wait", "--wait-timeout", "600")  # waits its turn
    code, err = finish(second)
    assert code != 0 and "lock" in err.lower() and "--wait" in err, err
    assert finish(first)[0] == 0
    assert finish(third)[0] == 0
    assert holder(project.lakehouse()) is None
    run_ok(calm)
    run_ok(calm)  # the waiting one was a second, incremental run
    same_as(settled(calm), project)


def test_maintain_while_a_run_commits_is_refused_then_changes_nothing(
    pair: tuple[Project, Project],
) -> None:
    project, calm = pair
    run = start(project, "run")
    until(run, "bronze.")
    maintain = start(project, "maintain", "--retention-hours", "0")
    code, err = finish(maintain)
    assert code != 0 and "lock" in err.lower(), err
    assert finish(run)[0] == 0
    # once the run is done, maintenance (vacuuming every old file) changes no table's content
    code, err = finish(start(project, "maintain", "--retention-hours", "0"))
    assert code == 0, err
    run_ok(project)  # and the next run finds everything it needs
    run_ok(calm)
    run_ok(calm)
    same_as(settled(calm), project)


def test_a_replay_racing_a_run_waits_its_turn(pair: tuple[Project, Project]) -> None:
    project, calm = pair
    run_ok(project)
    run_ok(calm)
    today = date.today().isoformat()
    run = start(project, "run")
    until(run, "silver.")  # the run is under way (nothing new to ingest)
    replay = start(project, "replay", "--from", today, "--to", today, "--wait")
    assert finish(run)[0] == 0
    code, err = finish(replay)
    assert code == 0, err
    run_ok(calm)
    assert api.replay(calm, date.today(), date.today()).summary.status == "ok"
    same_as(settled(calm), project)

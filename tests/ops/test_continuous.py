"""Continuous mode: a real ``lakeshop run --continuous`` (or ``lakeshop schedule`` of a
continuous schedule) process; files dropped while it runs reach gold, SIGTERM ends it."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.app.schedule_config import ScheduleConfig
from lakeshop.core.sqltext import literal
from lakeshop.ops.continuous import TRIGGER, Continuous, landing_signature
from lakeshop.pipeline import system
from lakeshop.pipeline.lock import holder
from tests.conftest import assert_healthy, cli, copy_days, one_error_line

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


class Loop:
    """A ``lakeshop`` process whose stderr lines are read as they come."""

    def __init__(self, directory: Path, *args: str) -> None:
        command = [sys.executable, "-m", "lakeshop.cli", "--project", str(directory), *args]
        self.proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """The next stderr line holding ``text`` (failing after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout}s; stderr so far: {self.lines}")

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then the exit status (the rest of stderr read)."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code


@pytest.fixture
def loops() -> Iterator[Callable[..., Loop]]:
    started: list[Loop] = []

    def start(directory: Path, *args: str) -> Loop:
        started.append(Loop(directory, *args))
        return started[-1]

    yield start
    for loop in started:
        if loop.proc.poll() is None:
            loop.proc.kill()
            loop.proc.wait()


def until(check: Callable[[], Any], timeout: float = 120, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy (that value), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout}s: {check.__doc__ or check}")


def orders_of(project: Project, day: str) -> int:
    if not project.lakehouse().exists("gold.fact_orders"):
        return 0
    sql = "SELECT count(*) AS n FROM gold.fact_orders WHERE order_date = " + literal(
        date.fromisoformat(day)
    )
    return int(api.query(project, sql).column("n")[0].as_py())


def runs(project: Project) -> list[dict[str, Any]]:
    rows = system.read(project.lakehouse(), system.RUNS).to_pylist()
    return sorted(rows, key=lambda r: (r["batch_id"], r["status"] != "running"))


def test_a_continuous_schedule_needs_no_cron_and_refuses_what_micro_batches_cannot_do(
    tmp_path: Path,
) -> None:
    config = ScheduleConfig(trigger="continuous", interval_seconds=0.5)
    assert config.cron is None and config.interval_seconds == 0.5
    with pytest.raises(ValueError, match="needs cron and timezone"):
        ScheduleConfig(timezone="UTC")
    write_demo_config(tmp_path)
    code, _, stderr = cli("--project", tmp_path, "run", "--continuous", "--full-refresh")
    assert code == 2 and "--full-refresh" in stderr and "incremental" in stderr
    code, _, stderr = cli("--project", tmp_path, "run", "--interval", "3")
    assert code == 2 and "only with --continuous" in stderr


def test_the_landing_signature_changes_with_a_new_or_rewritten_file(
    clean_retailer: Path, tmp_path: Path
) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    assert landing_signature(project) == frozenset()  # no landing folder yet
    copy_days(clean_retailer, project.landing, DAYS[:1])
    first = landing_signature(project)
    assert len(first) == len(list(project.landing.rglob("*_2026-01-01.*")))
    (project.landing / "orders" / "notes.txt").write_text("not a delivery")
    assert landing_signature(project) == first  # no source matches it
    orders = project.landing / "orders" / "orders_2026-01-01.csv"
    orders.write_text(orders.read_text() + "\n")
    assert landing_signature(project) != first


def test_the_loop_stops_before_a_batch_when_a_stop_is_requested(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    loop = Continuous(Project.load(tmp_path), stopped=lambda: True)
    assert loop.serve() == []
    assert not Project.load(tmp_path).lakehouse().exists(system.RUNS)


@pytest.mark.slow
def test_files_dropped_while_it_runs_reach_gold_and_sigterm_ends_it_cleanly(
    clean_retailer: Path, tmp_path: Path, loops: Callable[..., Loop]
) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(clean_retailer, project.landing, DAYS[:1])
    loop = loops(tmp_path, "run", "--continuous", "--interval", "0.2")
    loop.wait_for("ok micro-batch")
    assert orders_of(project, DAYS[0]) > 0

    # a day lands while it runs: its orders reach gold without anyone starting a run
    copy_days(clean_retailer, project.landing, DAYS[1:2])
    until(lambda: orders_of(project, DAYS[1]))
    loop.wait_for("ok micro-batch")

    # another day lands; SIGTERM while its micro-batch runs
    copy_days(clean_retailer, project.landing, DAYS[2:])
    until(lambda: [r for r in runs(project) if r["batch_id"] == 3])
    assert loop.stop() == 0, loop.lines
    assert "stopping at the next safe point" in "\n".join(loop.lines)
    assert loop.lines[-1] == "stopped after 3 micro-batch(es)", loop.lines
    assert holder(project.lakehouse()) is None  # the writer lock went with the run
    ended = [r for r in runs(project) if r["status"] != "running"]
    assert [(r["batch_id"], r["trigger"]) for r in ended] == [
        (1, TRIGGER),
        (2, TRIGGER),
        (3, TRIGGER),
    ]
    assert [r["status"] for r in ended][:2] == ["ok", "ok"]
    assert ended[2]["status"] in ("ok", "interrupted")  # after the commit it was in
    assert_healthy(project)

    # what the stop left undone, the next run does
    assert api.run(project).summary.status == "ok"
    assert orders_of(project, DAYS[2]) > 0
    assert_healthy(project)


def continuous_schedule(directory: Path, **settings: Any) -> Project:
    config = write_demo_config(directory)
    data = yaml.safe_load(config.read_text())
    data["targets"]["dev"]["schedule"] = {"trigger": "continuous"} | settings
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Project.load(directory)


@pytest.mark.slow
def test_a_failed_micro_batch_is_retried_then_alerts_and_the_loop_goes_on(
    clean_retailer: Path, tmp_path: Path, loops: Callable[..., Loop]
) -> None:
    project = continuous_schedule(
        tmp_path, interval_seconds=0.2, settle_seconds=0, retries=2, backoff_seconds=0.1
    )
    good = (tmp_path / "lakeshop.yml").read_text()
    code, _, stderr = cli("--project", tmp_path, "schedule", "--once")
    assert code == 2 and "continuous" in one_error_line(stderr)

    loop = loops(tmp_path, "schedule")
    loop.wait_for("ok micro-batch")  # the first look runs one, landing empty
    # someone breaks lakeshop.yml, then files land: every attempt fails
    (tmp_path / "lakeshop.yml").write_text("targets: [\n")
    copy_days(clean_retailer, project.landing, DAYS[:1])
    failed = loop.wait_for("failed micro-batch")
    assert "lakeshop.yml" in failed
    fired = system.read(project.lakehouse(), system.ALERTS).to_pylist()
    assert [(a["rule"], a["severity"], a["scope"], a["value"]) for a in fired] == [
        ("continuous_failed", "critical", "target=dev", 3.0)
    ]
    assert "failed 3 times" in fired[0]["message"]

    # repaired, and the next delivery: the loop is still there and catches up
    (tmp_path / "lakeshop.yml").write_text(good)
    copy_days(clean_retailer, project.landing, DAYS[1:2])
    loop.wait_for("ok micro-batch")
    assert orders_of(project, DAYS[0]) > 0 and orders_of(project, DAYS[1]) > 0
    assert loop.stop() == 0, loop.lines
    assert holder(project.lakehouse()) is None
    assert {r["trigger"] for r in runs(project)} == {TRIGGER}
    assert_healthy(project)

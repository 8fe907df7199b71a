"""One writer per target: refusal, --wait, takeover of stale locks, readers during a run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.pipeline.lock import LockHeld, holder, lock_path, writer_lock
from tests.cli.test_cli import LAKESHOP
from tests.conftest import assert_healthy, cli, copy_days, one_error_line


#: holds the writer lock of the project in argv[1] for argv[2] seconds
@pytest.fixture
def small(tmp_path: Path, retailer: Path) -> Project:
    """A project over the first day of the retailer, with a 3 s lock staleness."""
    copy_days(retailer, tmp_path / "landing", ["2026-01-01"])
    from lakeshop.app.project import write_demo_config

    config = write_demo_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["targets"]["dev"]["lock_stale_seconds"] = 3
    config.write_text(yaml.safe_dump(settings))
    return Project.load(tmp_path)


@pytest.fixture
def hold(
    small: Project, lock_holders: Callable[[Path, float], subprocess.Popen[str]]
) -> Callable[[float], subprocess.Popen[str]]:
    """Start a process that holds the lock for some seconds; killed at the end of the test."""
    return lambda seconds: lock_holders(small.directory, seconds)


def write_lock(project: Project, pid: int, heartbeat: datetime) -> Path:
    path = lock_path(project.lakehouse())
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = heartbeat.isoformat(timespec="milliseconds")
    info = {
        "token": "by-hand",
        "pid": pid,
        "host": socket.gethostname(),
        "run_id": "20260101T000000-000042",
        "purpose": "run",
        "started_at": stamp,
        "heartbeat": stamp,
    }
    path.write_text(json.dumps(info))
    return path


def test_second_writer_is_refused_at_once_naming_the_holder(small: Project, hold) -> None:
    proc = hold(60)
    clock = time.perf_counter()
    code, _, stderr = cli("--project", small.directory, "run")
    assert code == 1
    line = one_error_line(stderr)
    assert "being written by a test holder" in line and f"pid {proc.pid}" in line
    assert "started 20" in line and "--wait" in line
    assert time.perf_counter() - clock < 5
    assert not small.lakehouse().exists("_system.runs")  # nothing was written


def test_wait_runs_once_the_holder_exits(small: Project, hold) -> None:
    proc = hold(2)
    code, out, stderr = cli("--project", small.directory, "run", "--wait", "--wait-timeout", "60")
    assert code == 0, stderr
    assert proc.poll() is not None  # the run began only after the holder ended
    assert " ok" in out
    assert holder(small.lakehouse()) is None  # released
    assert_healthy(small)


def test_wait_gives_up_after_the_timeout(small: Project, hold) -> None:
    proc = hold(60)
    code, _, stderr = cli("--project", small.directory, "run", "--wait", "--wait-timeout", "1")
    assert code == 1
    line = one_error_line(stderr)
    assert "gave up after waiting 1s" in line and f"pid {proc.pid}" in line


def test_lock_of_a_dead_process_is_taken_over(small: Project) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_lock(small, gone.pid, datetime.now(UTC))
    summary = api.run(small).summary
    assert summary.status == "ok"
    assert holder(small.lakehouse()) is None
    assert_healthy(small)


def test_lock_with_live_pid_but_old_heartbeat_is_taken_over(small: Project) -> None:
    write_lock(small, os.getpid(), datetime.now(UTC) - timedelta(hours=1))
    with writer_lock(small.lakehouse(), stale_after=3) as lock:
        current = holder(small.lakehouse())
        assert current is not None and current.token == lock.info.token
    assert holder(small.lakehouse()) is None


def test_lock_with_live_pid_and_fresh_heartbeat_is_respected(small: Project) -> None:
    write_lock(small, os.getpid(), datetime.now(UTC))
    with pytest.raises(LockHeld, match="run 20260101T000000-000042"):
        api.run(small)
    assert holder(small.lakehouse()) is not None  # not taken over


def test_heartbeat_keeps_a_long_run_fresh(small: Project) -> None:
    lakehouse = small.lakehouse()
    with writer_lock(lakehouse, stale_after=0.4) as lock:
        time.sleep(1.0)  # longer than the staleness: only the heartbeat keeps it alive
        with pytest.raises(LockHeld), writer_lock(lakehouse, stale_after=0.4):
            pass
        assert not lock.lost
    assert holder(lakehouse) is None


def test_lock_is_released_when_the_run_fails(small: Project, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "run_graph", boom)
    with pytest.raises(RuntimeError):
        api.run(small)
    assert holder(small.lakehouse()) is None


@pytest.mark.slow
def test_readers_during_a_run_see_committed_states(
    tmp_path: Path, retailer: Path, small: Project
) -> None:
    """While a run writes, queries see counts that only grow and balanced accounting; a
    second run is refused naming the running one."""
    assert api.run(small).summary.status == "ok"
    copy_days(retailer, small.landing, ["2026-01-02", "2026-01-03", "2026-01-04"])
    tables = ["silver.orders", "silver.order_items", "silver.payments", "silver.customers_history"]
    counts = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    unbalanced = (
        "SELECT count(*) AS n FROM _system.events "
        "WHERE rows_in <> rows_written + rows_quarantined + rows_deduplicated"
    )
    run = subprocess.Popen(
        [str(LAKESHOP), "--project", str(small.directory), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[dict[str, int]] = []
    refused = ""
    try:
        while run.poll() is None:
            now = {r["t"]: r["n"] for r in api.query(small, counts).to_pylist()}
            if seen:
                assert all(now[t] >= seen[-1][t] for t in tables), (seen[-1], now)
            seen.append(now)
            assert api.query(small, unbalanced).column("n")[0].as_py() == 0
            current = holder(small.lakehouse())
            if not refused and current is not None and current.run_id:
                second = subprocess.run(
                    [str(LAKESHOP), "--project", str(small.directory), "run"],
                    capture_output=True,
                    text=True,
                )
                assert second.returncode == 1
                refused = second.stderr
                assert f"run {current.run_id}" in refused, refused
    finally:
        _, err = run.communicate(timeout=300)
    assert run.returncode in (0, 3), err  # 3: a generated unreadable file was refused
    assert refused, "the run ended before a second one could be tried"
    final = {r["t"]: r["n"] for r in api.query(small, counts).to_pylist()}
    assert len(seen) >= 2 and all(final[t] >= seen[-1][t] for t in tables)
    assert final != seen[0]
    runs = api.query(small, "SELECT DISTINCT run_id FROM _system.runs").num_rows
    assert runs == 2  # the refused run wrote nothing
    assert_healthy(small)


def test_a_heartbeat_that_cannot_be_written_for_a_while_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under the heartbeat (seen in the disk-full probe): no traceback from the
    lock's thread, and the heartbeat is fresh again once the disk has room."""
    import errno
    import threading

    from lakeshop.engines import storage
    from lakeshop.engines.lakehouse import Lakehouse

    crashed: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashed.append(args.exc_value))
    lakehouse = Lakehouse(tmp_path)
    write = storage.write_atomic

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with writer_lock(lakehouse, run_id="r", stale_after=0.4) as held:
        monkeypatch.setattr(storage, "write_atomic", full)
        time.sleep(0.5)  # about five beats fail
        stuck = holder(lakehouse)
        monkeypatch.setattr(storage, "write_atomic", write)
        time.sleep(0.3)
        assert held._thread.is_alive() and crashed == []
        fresh = holder(lakehouse)
        assert stuck is not None and fresh is not None and fresh.heartbeat > stuck.heartbeat

"""Clock skew (issue 16, problem 7): a lock whose heartbeat is in the future (another host's
clock a day ahead) is judged by how long it stays unchanged on our own clock, not refused for
a day; ``lakeshop unlock --force`` removes a lock, but not while its holder lives here."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakeshop.app.project import Project
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline.lock import LockHeld, holder, lock_path, writer_lock
from tests.conftest import cli, one_error_line

pytestmark = pytest.mark.slow


def plant(lakehouse: Lakehouse, *, host: str, pid: int, ahead: timedelta) -> Path:
    """A lock file as another writer left it, its clock ``ahead`` of ours."""
    stamp = (datetime.now(UTC) + ahead).isoformat(timespec="milliseconds")
    path = lock_path(lakehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "token": "other",
        "pid": pid,
        "host": host,
        "run_id": "20270101T000000-000009",
        "purpose": "run",
        "started_at": stamp,
        "heartbeat": stamp,
    }
    path.write_text(json.dumps(info))
    return path


def test_a_heartbeat_a_day_ahead_is_named_and_taken_over_once_it_stops(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    plant(lakehouse, host="far-away", pid=4242, ahead=timedelta(days=1))
    with pytest.raises(LockHeld) as refused, writer_lock(lakehouse, stale_after=2):
        pass
    assert "in the future" in str(refused.value) and "far-away" in str(refused.value)
    assert "0s ago" not in str(refused.value)
    clock = time.monotonic()
    with writer_lock(lakehouse, wait=True, timeout=30, stale_after=2) as lock:
        assert holder(lakehouse) == lock.info  # taken over: its heartbeat never moved
    assert 2 <= time.monotonic() - clock < 30


def test_a_moving_heartbeat_ahead_keeps_its_lock(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    stop = threading.Event()

    def beat() -> None:  # a live writer on a skewed host, still beating
        while not stop.wait(0.3):
            plant(lakehouse, host="far-away", pid=4242, ahead=timedelta(days=1))

    plant(lakehouse, host="far-away", pid=4242, ahead=timedelta(days=1))
    beating = threading.Thread(target=beat)
    beating.start()
    try:
        with (
            pytest.raises(LockHeld, match="gave up after waiting"),
            writer_lock(lakehouse, wait=True, timeout=5, stale_after=2),
        ):
            pass
    finally:
        stop.set()
        beating.join()


def test_unlock_force_refuses_while_the_holder_lives_here(tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text("name: skew\n")
    lakehouse = Project.load(tmp_path).lakehouse()
    plant(lakehouse, host=socket.gethostname(), pid=os.getpid(), ahead=timedelta(0))
    code, _, err = cli("--project", tmp_path, "unlock", "--force")
    assert code == 1 and "alive on this host" in one_error_line(err)
    assert holder(lakehouse) is not None
    plant(lakehouse, host="far-away", pid=os.getpid(), ahead=timedelta(days=1))
    code, out, _ = cli("--project", tmp_path, "unlock", "--force")
    assert code == 0 and "removed the lock" in out and "far-away" in out
    assert holder(lakehouse) is None

"""``lakeshop backfill``: one run per business day, in order, recorded, resumable after a
SIGKILL of the real process midway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import LakeshopError
from lakeshop.ops import faults
from lakeshop.ops.backfill import backfill, done_days
from lakeshop.pipeline import system
from lakeshop.pipeline.ingest.discovery import delivered_after
from lakeshop.pipeline.lock import holder
from tests.conftest import assert_healthy, cli

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 10)


def test_a_landing_path_belongs_to_the_last_date_it_names() -> None:
    day = date(2026, 1, 5)
    assert not delivered_after("orders/orders_2026-01-05.csv", day)
    assert delivered_after("orders/orders_2026-01-06.csv", day)
    assert delivered_after("2026-01-01/orders_2026-01-06.csv", day)
    assert not delivered_after("stores/stores.csv", day)  # no date: every day's
    assert not delivered_after("orders/orders_20260106.csv", day)  # not a YYYY-MM-DD date
    assert not delivered_after("orders/orders_2026-13-45.csv", day)


def test_backfill_refuses_a_reversed_range(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    with pytest.raises(LakeshopError, match="--to 2026-01-01 is before --from 2026-01-02"):
        backfill(Project.load(tmp_path), date(2026, 1, 2), date(2026, 1, 1))


def _project(directory: Path, landing: Path) -> Project:
    write_demo_config(directory)
    (directory / "landing").symlink_to(landing)  # read-only: a backfill only reads landing
    return Project.load(directory)


@pytest.mark.slow
def test_backfill_killed_midway_and_restarted_equals_an_uninterrupted_one(
    prebuilt, tmp_path: Path
) -> None:
    landing = prebuilt.retailer(days=10, scale=0.02, seed=5, defects=0.0)

    whole = _project(tmp_path / "whole", landing)
    days = backfill(whole, FIRST, LAST)
    assert [d.day.day for d in days] == list(range(1, 11))
    assert all(d.status == "ok" for d in days)
    files = system.read(whole.lakehouse(), system.FILES).to_pylist()
    for d in days:  # each day's run ingested that day's deliveries (and the dateless ones)
        batch = next(
            r["batch_id"]
            for r in system.read(whole.lakehouse(), system.RUNS).to_pylist()
            if r["run_id"] == d.run_id
        )
        dated = [f["path"] for f in files if f["batch_id"] == batch and "2026-" in f["path"]]
        assert dated and all(d.day.isoformat() in p for p in dated), (d.day, dated)

    killed = _project(tmp_path / "killed", landing)
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "lakeshop.cli", "--project", str(killed.directory)),
            *("backfill", "--from", FIRST.isoformat(), "--to", LAST.isoformat()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        # midway: four days done, the fifth day's run writing
        while True:
            assert child.poll() is None, "the backfill ended before it was killed"
            assert time.monotonic() < deadline
            done = done_days(killed) if killed.lakehouse().exists(system.RUNS) else {}
            lock = holder(killed.lakehouse())
            if len(done) >= 4 and lock is not None and lock.run_id not in (None, *done.values()):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert 4 <= len(done_days(killed)) < 10

    code, out, stderr = cli(
        "--project", killed.directory, "backfill", "--from", FIRST, "--to", LAST
    )
    assert code == 0, stderr
    assert out.count("done before") == len(done) and out.count("ok ") == 10 - len(done)
    assert faults.snapshot(killed) == faults.snapshot(whole)
    # every day recorded once ok; the killed run closed as aborted
    runs = system.read(killed.lakehouse(), system.RUNS).to_pylist()
    ok = sorted(r["trigger"] for r in runs if r["status"] == "ok")
    assert ok == [f"backfill 2026-01-{d:02d}" for d in range(1, 11)]
    assert [r["trigger"] for r in runs if r["status"] == "aborted"] == [
        f"backfill 2026-01-{len(done) + 1:02d}"
    ]
    assert_healthy(killed)
    # and run again: nothing left to do
    assert all(d.status == "done before" for d in backfill(killed, FIRST, LAST))

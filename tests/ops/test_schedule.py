"""``lakeshop schedule``: a fake clock drives days of fires in seconds; every run is a real
``lakeshop run`` process, the lock a real holder process."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.app.schedule_config import ScheduleConfig
from lakeshop.core.errors import ConfigError
from lakeshop.ops.schedule import (
    Scheduler,
    business_day,
    fires_between,
    last_fire,
    trigger_of,
)
from lakeshop.pipeline import system
from tests.conftest import cli, copy_days, one_error_line

PARIS = ZoneInfo("Europe/Paris")
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


class FakeClock:
    """Now is what the test says; a sleep moves it on at once (and is remembered)."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)


def scheduled(directory: Path, **settings: Any) -> Project:
    """The demo project in ``directory`` with a schedule on its dev target."""
    config = write_demo_config(directory)
    data = yaml.safe_load(config.read_text())
    data["targets"]["dev"]["schedule"] = {
        "cron": "0 2 * * *",
        "timezone": "Europe/Paris",
    } | settings
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Project.load(directory)


def runs(project: Project) -> list[dict[str, Any]]:
    """The runs that ended (``_system.runs`` holds a ``running`` row, then the end's), in order."""
    rows = system.read(project.lakehouse(), system.RUNS).to_pylist()
    return sorted((r for r in rows if r["status"] != "running"), key=lambda r: r["batch_id"])


def finished_triggers(project: Project) -> list[str]:
    return [r["trigger"] for r in runs(project)]


def test_fires_are_read_in_the_time_zone_across_daylight_saving() -> None:
    config = ScheduleConfig(cron="0 2 * * *", timezone="Europe/Paris")
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    fires = fires_between(config, start, start + timedelta(days=3))
    # 02:00 does not exist on the night clocks go forward: croniter fires at 03:00 instead
    assert [f.isoformat() for f in fires] == [
        "2026-03-28T02:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:00:00+02:00",
    ]
    assert [f.astimezone(UTC).hour for f in fires] == [1, 1, 0]
    assert business_day(fires[0]) == date(2026, 3, 27)
    assert fires_between(config, fires[0], fires[0]) == []


def test_schedule_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"targets\.dev\.schedule\.timezone.*IANA"):
        scheduled(tmp_path, timezone="Paris/Europe")
    project = scheduled(tmp_path, cron="0 25 * * *")
    with pytest.raises(ConfigError, match=r"targets\.dev\.schedule\.cron.*five fields"):
        Scheduler(project)
    write_demo_config(tmp_path)
    code, _, stderr = cli("--project", tmp_path, "schedule", "--once")
    assert code == 2 and "targets.dev.schedule" in one_error_line(stderr)


def test_a_failing_run_is_retried_with_backoff_then_alerts(tmp_path: Path) -> None:
    project = scheduled(tmp_path, retries=2, backoff_seconds=30)
    fire = datetime(2026, 1, 5, 2, tzinfo=PARIS)
    clock = FakeClock(fire - timedelta(seconds=1))
    scheduler = Scheduler(project, clock=clock)
    assert scheduler.step() == []  # first start: nothing missed, nothing due yet
    # someone breaks lakeshop.yml: every real `lakeshop run` fails (exit 2)
    (tmp_path / "lakeshop.yml").write_text("targets: [\n")
    clock.at = fire
    (done,) = scheduler.step()
    assert done.status == "failed" and done.attempts == 3
    assert clock.slept == [30, 60]
    assert all("lakeshop.yml" in e for e in done.errors), done.errors
    fired = system.read(project.lakehouse(), system.ALERTS).to_pylist()
    assert [(a["rule"], a["severity"], a["scope"]) for a in fired] == [
        ("schedule_failed", "critical", "target=dev")
    ]
    assert "failed 3 times" in fired[0]["message"] and fire.isoformat() in fired[0]["message"]


@pytest.mark.slow
def test_the_0200_schedule_runs_once_a_day(clean_retailer: Path, tmp_path: Path) -> None:
    project = scheduled(tmp_path)
    copy_days(clean_retailer, project.landing, DAYS)
    clock = FakeClock(datetime(2026, 1, 5, 0, 0, tzinfo=PARIS))
    scheduler = Scheduler(project, clock=clock)
    fires = scheduler.serve(until=datetime(2026, 1, 7, 12, 0, tzinfo=PARIS))
    expected = [trigger_of(datetime(2026, 1, d, 2, 0, tzinfo=PARIS)) for d in (5, 6, 7)]
    assert [f.trigger for f in fires] == expected
    assert all(f.status == "ok" and f.attempts == 1 and f.late_by == 0 for f in fires)
    assert finished_triggers(project) == expected
    assert all(r["status"] == "ok" for r in runs(project))
    assert clock.at == datetime(2026, 1, 7, 12, 0, tzinfo=PARIS)
    # again at the same moment, or a scheduler started anew: nothing more to do
    assert scheduler.step() == []
    assert Scheduler(project, clock=clock).step() == []
    assert last_fire(project) == datetime(2026, 1, 7, 2, 0, tzinfo=PARIS)
    assert len(runs(project)) == 3


@pytest.mark.slow
@pytest.mark.parametrize("when_busy", ["skip", "wait"])
def test_a_fire_while_another_writer_holds_the_lock(
    when_busy: str, clean_retailer: Path, tmp_path: Path, lock_holders
) -> None:
    project = scheduled(tmp_path, when_busy=when_busy)
    copy_days(clean_retailer, project.landing, DAYS[:1])
    fire = datetime(2026, 1, 5, 2, tzinfo=PARIS)
    clock = FakeClock(fire - timedelta(minutes=1))
    scheduler = Scheduler(project, clock=clock)
    assert scheduler.step() == []
    held = lock_holders(project.directory, 4)
    clock.at = fire
    (done,) = scheduler.step()
    if when_busy == "skip":
        assert done.status == "skipped" and done.attempts == 0
        assert "test holder" in done.errors[0]
        assert held.poll() is None  # skipped at once, while the holder still held the lock
        assert finished_triggers(project) == []
    else:
        assert done.status == "ok" and done.attempts == 1
        assert held.poll() == 0  # the run started once the holder let go
        (run,) = runs(project)
        assert run["trigger"] == trigger_of(fire) and run["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("catch_up", ["none", "once", "each"])
def test_catch_up_after_three_days_down(
    catch_up: str, clean_retailer: Path, tmp_path: Path
) -> None:
    project = scheduled(tmp_path, catch_up=catch_up)
    copy_days(clean_retailer, project.landing, DAYS)
    # the last fire before the downtime: New Year's night, before any delivery
    before = datetime(2026, 1, 1, 2, tzinfo=PARIS)
    assert api.run(project, trigger=trigger_of(before), through=date(2025, 12, 31)).summary
    clock = FakeClock(datetime(2026, 1, 4, 12, tzinfo=PARIS))
    fires = Scheduler(project, clock=clock).step()
    missed = [datetime(2026, 1, d, 2, tzinfo=PARIS) for d in (2, 3, 4)]
    done = runs(project)[1:]
    if catch_up == "none":
        assert fires == [] and done == []
        return
    lates = system.read(project.lakehouse(), system.ALERTS).to_pylist()
    if catch_up == "once":
        (fire,) = fires
        assert fire.trigger == trigger_of(missed[-1], "catch-up of 3 fires")
        assert [r["trigger"] for r in done] == [fire.trigger]
        assert [a["rule"] for a in lates] == ["schedule_late"]
        return
    assert [f.trigger for f in fires] == [trigger_of(f, "catch-up") for f in missed]
    assert [f.through for f in fires] == [date(2026, 1, d) for d in (1, 2, 3)]
    assert [r["trigger"] for r in done] == [f.trigger for f in fires]
    assert all(r["status"] == "ok" for r in done)
    # each caught-up run read its own business day's deliveries
    files = system.read(project.lakehouse(), system.FILES).to_pylist()
    for run, day in zip(done, DAYS, strict=True):
        paths = [f["path"] for f in files if f["batch_id"] == run["batch_id"]]
        assert paths and all(day in p for p in paths), (day, paths)
    assert {a["rule"] for a in lates} == {"schedule_late"} and len(lates) == 3

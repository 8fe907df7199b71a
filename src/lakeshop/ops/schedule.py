"""``lakeshop schedule``: run a target at the times of its cron expression, one run at a time.

The fires come from the target's ``schedule:`` (:class:`lakeshop.app.schedule_config.
ScheduleConfig`): a cron expression read in an explicit time zone (croniter does the
arithmetic, daylight saving time included). Each fire starts ``lakeshop run`` as a process
of its own (a long-lived scheduler keeps no run's memory), recorded in ``_system.runs`` with
the trigger ``schedule <fire time>``. One writer per target: a fire while another writer holds
the lock waits for it or is skipped (``when_busy``). A failed run is tried again after
``backoff_seconds``, doubled each time, ``retries`` times; then a ``schedule_failed`` alert is
recorded and sent through the alert channels. A fire started ``late_after_seconds`` after its
time or later (the scheduler was down or busy) fires ``schedule_late``.

At start, the fires missed since the last one recorded in ``_system.runs`` are caught up as
configured (``catch_up``): not at all, once, or once each, each with the deliveries of its
business day (the day before the fire's date) and earlier (``lakeshop run --through``).

The clock is injected (:class:`Clock`), so that tests drive days of schedule in seconds.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from lakeshop.app import alerts, api
from lakeshop.app.project import Project
from lakeshop.app.schedule_config import ScheduleConfig
from lakeshop.core.errors import ConfigError, LakeshopError
from lakeshop.pipeline import system
from lakeshop.pipeline.lock import holder
from lakeshop.retail.alerts import Firing

log = logging.getLogger("lakeshop.schedule")

PREFIX = "schedule "
_TRIGGER = re.compile(r"^schedule (\S+)")
#: exit codes of ``lakeshop run`` that are a run that went through (3: a file was refused)
_WENT_THROUGH = (0, 3)


class Clock(Protocol):
    """What the scheduler asks of time: now (aware), and a pause."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Attempt:
    """One ``lakeshop run`` started for a fire: its exit code and last error line."""

    exit_code: int
    error: str = ""


#: starts one run: (trigger, business day or None, wait for the lock) → attempt
Launcher = Callable[[str, date | None, bool], Attempt]


@dataclass
class Fire:
    """What became of one fire: ``ok``, ``failed`` (after its retries) or ``skipped``."""

    at: datetime
    trigger: str
    status: str
    attempts: int = 0
    through: date | None = None
    late_by: float = 0.0
    errors: list[str] = field(default_factory=list)


def schedule_of(project: Project, target: str | None) -> tuple[str, ScheduleConfig]:
    """The target's name and schedule; a ConfigError when it has none or its cron is invalid."""
    name, settings = project.target(target)
    if settings.mode == "development":
        raise LakeshopError(
            f"target {name} is a development target: its schedule is paused "
            "(schedule a production target, or one without mode)"
        )
    if settings.schedule is None:
        raise ConfigError(
            f"targets.{name}.schedule",
            'a schedule, e.g. {cron: "0 2 * * *", timezone: Europe/Paris}',
        )
    if settings.schedule.trigger == "continuous":
        return name, settings.schedule
    try:
        from croniter import croniter
    except ImportError as exc:  # an optional dependency
        raise LakeshopError(
            "lakeshop schedule needs croniter: pip install 'lakeshop[schedule]'"
        ) from exc
    cron, _ = settings.schedule.cron_and_zone()
    if not croniter.is_valid(cron):
        raise ConfigError(
            f"targets.{name}.schedule.cron",
            "a cron expression of five fields (minute hour day month weekday), e.g. '0 2 * * *'",
            cron,
        )
    return name, settings.schedule


def fires_between(config: ScheduleConfig, after: datetime, until: datetime) -> list[datetime]:
    """The fire times in ``(after, until]``, in the schedule's time zone."""
    from croniter import croniter

    cron, zone = config.cron_and_zone()
    found = []
    it = croniter(cron, after.astimezone(ZoneInfo(zone)))
    while (nxt := it.get_next(datetime)) <= until:
        found.append(nxt)
    return found


def next_fire(config: ScheduleConfig, after: datetime) -> datetime:
    """The first fire time after ``after``."""
    from croniter import croniter

    cron, zone = config.cron_and_zone()
    nxt: datetime = croniter(cron, after.astimezone(ZoneInfo(zone))).get_next(datetime)
    return nxt


def business_day(fire: datetime) -> date:
    """The day a fire's run processes: the one before its date (a nightly run, yesterday's)."""
    return fire.date() - timedelta(days=1)


def trigger_of(fire: datetime, note: str = "") -> str:
    """The trigger a fire's run is recorded with in ``_system.runs``."""
    return f"{PREFIX}{fire.isoformat()}" + (f" ({note})" if note else "")


def last_fire(project: Project, target: str | None = None) -> datetime | None:
    """The latest fire recorded in ``_system.runs`` (None: never scheduled)."""
    runs = system.read(project.lakehouse(target), system.RUNS).column("trigger").to_pylist()
    found = [m.group(1) for t in runs if t and (m := _TRIGGER.match(t))]
    stamps = []
    for text in found:
        try:
            stamps.append(datetime.fromisoformat(text))
        except ValueError:
            continue
    return max(stamps, default=None)


def process_launcher(project: Project, target: str, config: ScheduleConfig) -> Launcher:
    """Start each run as ``lakeshop run`` in a process of its own."""

    def launch(trigger: str, through: date | None, wait: bool) -> Attempt:
        args = [sys.executable, "-m", "lakeshop.cli", "--project", str(project.directory)]
        args += ["run", "--target", target, "--trigger", trigger]
        if through is not None:
            args += ["--through", through.isoformat()]
        if wait:
            args += ["--wait", "--wait-timeout", str(config.wait_timeout_seconds)]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        lines = [line for line in done.stderr.splitlines() if line.startswith("error")]
        return Attempt(done.returncode, lines[-1] if lines else "")

    return launch


class Scheduler:
    """Runs a target at its schedule's fires (see the module)."""

    def __init__(
        self,
        project: Project,
        target: str | None = None,
        *,
        clock: Clock | None = None,
        launcher: Launcher | None = None,
        on_fire: Callable[[Fire], None] | None = None,
    ) -> None:
        self.project = project
        self.target, self.config = schedule_of(project, target)
        if self.config.trigger == "continuous":
            raise LakeshopError(
                f"the schedule of target {self.target} is continuous: run it with "
                "lakeshop schedule or lakeshop run --continuous (lakeshop.ops.continuous)"
            )
        self.clock = clock or SystemClock()
        self.launch = launcher or process_launcher(project, self.target, self.config)
        self.on_fire = on_fire
        #: the last fire handled; None until the first step (then read from _system.runs)
        self.last: datetime | None = None
        self._started = False

    def step(self) -> list[Fire]:
        """Handle the fires due now that were not handled yet (at start: the missed ones, as
        ``catch_up`` says); returns them."""
        now = self.clock.now()
        if not self._started:
            self._started = True
            self.last = last_fire(self.project, self.target) or now
        assert self.last is not None
        due = fires_between(self.config, self.last, now)
        if not due:
            return []
        self.last = due[-1]
        if len(due) == 1:
            return [self._fire(due[0], None, "")]
        missed = len(due)
        if self.config.catch_up == "none":
            log.warning("missed fires not caught up", extra={"fires": missed})
            return []
        if self.config.catch_up == "once":
            return [self._fire(due[-1], None, f"catch-up of {missed} fires")]
        return [self._fire(f, business_day(f), "catch-up") for f in due]

    def serve(self, until: datetime | None = None) -> list[Fire]:
        """Step, then sleep until the next fire; forever, or until ``until``."""
        handled: list[Fire] = []
        while True:
            handled.extend(self.step())
            now = self.clock.now()
            wake = next_fire(self.config, max(now, self.last or now))
            if until is not None and wake > until:
                self.clock.sleep(max(0.0, (until - now).total_seconds()))
                return handled
            self.clock.sleep(max(0.0, (wake - now).total_seconds()))

    def _fire(self, at: datetime, through: date | None, note: str) -> Fire:
        config = self.config
        fire = Fire(at, trigger_of(at, note), "failed", through=through)
        fire.late_by = max(0.0, (self.clock.now() - at).total_seconds())
        if fire.late_by >= config.late_after_seconds:
            self._alert(
                "schedule_late",
                "warning",
                fire,
                fire.late_by,
                config.late_after_seconds,
                f"schedule of target {self.target}: the fire of {at.isoformat()} started "
                f"{fire.late_by / 60:.0f} min late ({note or 'the scheduler was busy or down'})",
            )
        busy = holder(self.project.lakehouse(self.target))
        stale = busy is None or busy.stale(self._stale_after())
        if config.when_busy == "skip" and not stale:
            fire.status = "skipped"
            fire.errors.append(f"skipped: the target is being written by {busy.describe()}")  # type: ignore[union-attr]
            log.warning("schedule fire skipped", extra={"fire": at.isoformat(), "holder": busy})
            return self._done(fire)
        fire.attempts, ok = retried(
            lambda: self.launch(fire.trigger, through, config.when_busy == "wait"),
            config,
            self.clock.sleep,
            fire.errors,
        )
        if ok:
            fire.status = "ok"
            return self._done(fire)
        self._alert(
            "schedule_failed",
            "critical",
            fire,
            float(fire.attempts),
            float(config.retries + 1),
            f"schedule of target {self.target}: the fire of {at.isoformat()} failed "
            f"{fire.attempts} times; last: {fire.errors[-1]}",
        )
        return self._done(fire)

    def _done(self, fire: Fire) -> Fire:
        log.info("schedule fire", extra={"trigger": fire.trigger, "status": fire.status})
        if self.on_fire is not None:
            self.on_fire(fire)
        return fire

    def _stale_after(self) -> float:
        return self.project.target(self.target)[1].lock_stale_seconds

    def _alert(
        self, rule: str, severity: str, fire: Fire, value: float, threshold: float, message: str
    ) -> None:
        """Record and send one alert of the schedule (once per rule and fire)."""
        firing = Firing(
            rule=rule,
            severity=severity,
            scope=f"target={self.target}",
            business_date=fire.through,
            value=value,
            threshold=threshold,
            message=message,
            window=fire.at.isoformat(),
        )
        send_alert(self.project, self.target, firing)


def retried(
    launch: Callable[[], Attempt],
    config: ScheduleConfig,
    sleep: Callable[[float], object],
    errors: list[str],
    stopped: Callable[[], bool] = lambda: False,
) -> tuple[int, bool]:
    """Launch a run; after a failure, again after ``backoff_seconds`` (doubled each time), at
    most ``retries`` times, or until ``stopped()``. Each failure's line is appended to
    ``errors``; returns the attempts made and whether the last one went through."""
    attempts = 0
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.backoff_seconds * 2 ** (attempt - 1))
            if stopped():
                break
        attempts += 1
        result = launch()
        if result.exit_code in _WENT_THROUGH:
            return attempts, True
        errors.append(result.error or f"lakeshop run exited {result.exit_code}")
        if stopped():
            break
    return attempts, False


def send_alert(project: Project, target: str, firing: Firing) -> None:
    """Record one alert of a schedule in ``_system.alerts`` (once per dedup key) and send it
    through the alert channels, as after a run."""
    evaluation = alerts.Evaluation(as_of=None, firings=[firing])
    # _system.alerts is written under the writer lock, as after a run
    with api.writer_lock_of(project, target, purpose="alerts", wait=True):
        alerts.record(project, evaluation, None, target)

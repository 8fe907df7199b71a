"""``lakeshop run --continuous`` (and a ``trigger: continuous`` schedule): a micro-batch each
time files land, one at a time, until stopped.

The loop looks at the landing folder every ``interval_seconds``: the files the sources match,
by name, size and modification time. When they changed since the last micro-batch (and then
stayed the same for ``settle_seconds``, so that a file still being copied in is not read
half-written), a micro-batch runs: an incremental run of the pipeline (``api.run``, in this
process: a fresh interpreter would add seconds of imports to every file's latency), recorded
in ``_system.runs`` with the trigger ``continuous`` and followed, as any run, by the alert
rules and the sync. The first look always runs one: files landed while the loop was stopped,
a run left interrupted. ``lakeshop.yml`` is read again for each micro-batch, so an edit takes
effect without a restart.

One at a time: a micro-batch takes the target's writer lock, waiting for another writer (a
backup, ``lakeshop ml``) at most ``wait_timeout_seconds``. A failed micro-batch is tried
again as a failed scheduled run is (:func:`lakeshop.ops.schedule.retried`: ``retries`` times,
``backoff_seconds`` doubled each time), then fires a ``continuous_failed`` alert
(:func:`lakeshop.ops.schedule.send_alert`); the loop goes on watching, and the next landing
change runs again.

SIGTERM and SIGINT (:mod:`lakeshop.pipeline.interrupt`, installed by the CLI): a micro-batch
stops at its next safe point, after the commit of the table it is running, and is recorded
``interrupted`` (the next run resumes it); between micro-batches, and during a backoff, the
loop ends at once. The writer lock goes with the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakeshop.app import api
from lakeshop.app.api import RunResult
from lakeshop.app.project import Project
from lakeshop.app.schedule_config import ScheduleConfig
from lakeshop.core.errors import LakeshopError, first_line
from lakeshop.core.redact import without_values
from lakeshop.ops.schedule import Attempt, retried, send_alert
from lakeshop.pipeline import interrupt
from lakeshop.retail.alerts import Firing

log = logging.getLogger("lakeshop.continuous")

#: the trigger of every micro-batch in ``_system.runs``
TRIGGER = "continuous"
#: exit codes of a micro-batch (as ``lakeshop run``'s): 1 a table failed, 2 it could not start
_TABLE_FAILED, _NOT_STARTED = 1, 2

#: what the sources match in the landing folder: (relative path, size, mtime in ns)
Signature = frozenset[tuple[str, int, int]]


def landing_signature(project: Project) -> Signature:
    """The files the project's sources match under its landing folder, by name, size and
    modification time (a file replaced or grown changes it)."""
    landing = project.landing
    if not landing.is_dir():
        return frozenset()
    seen: set[tuple[str, int, int]] = set()
    for source in project.sources.values():
        for path in source.files(landing):
            try:
                stat = path.stat()
            except FileNotFoundError:  # gone since the listing: the next look tells
                continue
            seen.add((path.relative_to(landing).as_posix(), stat.st_size, stat.st_mtime_ns))
    return frozenset(seen)


@dataclass
class Batch:
    """One micro-batch: its run (the last attempt's), status ``ok``, ``failed`` (after its
    retries) or ``interrupted``, and the landing files new or changed since the last one (at
    the first look: every file in landing, ``first``)."""

    started_at: datetime
    files: int
    first: bool = False
    status: str = "failed"
    attempts: int = 0
    run_id: str | None = None
    seconds: float = 0.0
    result: RunResult | None = None
    errors: list[str] = field(default_factory=list)


def default_settings(project: Project, target: str | None) -> ScheduleConfig:
    """The target's ``schedule:`` when it is a continuous one (its interval, retries, backoff),
    else the defaults of a continuous schedule."""
    schedule = project.target(target)[1].schedule
    if schedule is not None and schedule.trigger == "continuous":
        return schedule
    return ScheduleConfig(trigger="continuous")


class Continuous:
    """The micro-batch loop of a target (see the module)."""

    def __init__(
        self,
        project: Project,
        target: str | None = None,
        *,
        settings: ScheduleConfig | None = None,
        on_batch: Callable[[Batch], None] | None = None,
        stopped: Callable[[], bool] = interrupt.requested,
        pause: Callable[[float], object] = interrupt.wait,
    ) -> None:
        self.project = project
        self.target = project.target(target)[0]
        self.named = target is not None  # a production target must be named (environments)
        self.settings = settings or default_settings(project, target)
        self.on_batch = on_batch
        self.stopped = stopped
        self.pause = pause
        self.batches: list[Batch] = []
        self._seen: Signature | None = None

    def serve(self, max_batches: int | None = None) -> list[Batch]:
        """Watch and run micro-batches until stopped (or after ``max_batches``)."""
        while not self.stopped():
            now = landing_signature(self.project)
            if now != self._seen:
                now = self._settled(now)
                if self.stopped():
                    break
                self._batch(now)
                if max_batches is not None and len(self.batches) >= max_batches:
                    break
                continue  # files that landed during the batch: look again at once
            self.pause(self.settings.interval_seconds)
        log.info("continuous mode stopped", extra={"batches": len(self.batches)})
        return self.batches

    def _settled(self, now: Signature) -> Signature:
        """The landing signature once it stayed the same for ``settle_seconds``."""
        settle = self.settings.settle_seconds
        while settle > 0 and not self.stopped():
            self.pause(settle)
            again = landing_signature(self.project)
            if again == now:
                break
            now = again
        return now

    def _batch(self, now: Signature) -> None:
        changed = len(now - self._seen) if self._seen is not None else len(now)
        batch = Batch(datetime.now(UTC), changed, first=self._seen is None)
        clock = time.perf_counter()
        batch.attempts, ok = retried(
            lambda: self._launch(batch), self.settings, self.pause, batch.errors, self.stopped
        )
        batch.seconds = time.perf_counter() - clock
        self._seen = now  # a failed batch is tried again at the next change of landing
        summary = batch.result.summary if batch.result is not None else None
        if summary is not None and summary.status == "interrupted":
            batch.status = "interrupted"
        elif ok:
            batch.status = "ok"
        elif not self.stopped():
            self._alert(batch)
        log.log(
            logging.INFO if batch.status == "ok" else logging.ERROR,
            "micro-batch",
            extra={
                "status": batch.status,
                "run_id": batch.run_id,
                "files": batch.files,
                "attempts": batch.attempts,
                "seconds": round(batch.seconds, 3),
            },
        )
        self.batches.append(batch)
        if self.on_batch is not None:
            self.on_batch(batch)

    def _launch(self, batch: Batch) -> Attempt:
        """One run of the micro-batch, in this process; its exit code as ``lakeshop run``'s."""
        batch.result = None
        try:
            # read again each time: an edit of lakeshop.yml applies without a restart
            project = Project.load(self.project.directory)
            result = api.run(
                project,
                target=self.target if self.named else None,
                trigger=TRIGGER,
                wait=True,
                wait_timeout=self.settings.wait_timeout_seconds,
            )
        except LakeshopError as exc:
            return Attempt(_NOT_STARTED, f"error: {exc}")
        except Exception as exc:  # a long-lived loop outlives one run's crash: retried, alerted
            log.exception("micro-batch crashed")
            return Attempt(_TABLE_FAILED, f"error: {without_values(first_line(exc))}")
        batch.result, batch.run_id = result, result.summary.run_id
        summary = result.summary
        if summary.status == "interrupted":
            return Attempt(interrupt.EXIT_STATUS, interrupt.MESSAGE)
        if summary.status != "ok":
            failed = summary.failed
            why = f"{failed[0].name}: {failed[0].error}" if failed else summary.status
            return Attempt(_TABLE_FAILED, f"error: run {summary.run_id} failed: {why}")
        return Attempt(0)

    def _alert(self, batch: Batch) -> None:
        """A ``continuous_failed`` alert for a micro-batch that failed every attempt."""
        at = batch.started_at.isoformat()
        firing = Firing(
            rule="continuous_failed",
            severity="critical",
            scope=f"target={self.target}",
            business_date=None,
            value=float(batch.attempts),
            threshold=float(self.settings.retries + 1),
            message=f"continuous mode of target {self.target}: the micro-batch of {at} failed "
            f"{batch.attempts} times; last: {batch.errors[-1]}",
            window=at,
        )
        try:
            send_alert(self.project, self.target, firing)
        except LakeshopError as exc:  # the loop goes on; the log keeps what could not be sent
            log.error("continuous_failed alert not recorded", extra={"error": str(exc)})

"""``sync.after_run: true``: ship to PostgreSQL right after each run, as one more step of it.

The sync runs under the run's writer lock, once the pipeline and its alert rules are done. It
is recorded in ``_system.events`` like a table step of the run (``table_name`` =
``sync.postgres``, ``kind`` = ``sync``, rows sent as rows in and written, seconds, status,
error), so ``lakeshop history`` counts it with the run's steps; every table's detail is in
``_system.sync``. A failed sync (a table failed, or no connection) never fails the run that
produced the data: it fires the alert ``sync_failed`` (critical, through the alert channels,
once per run) and is said in the run's summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from lakeshop.app import alerts
from lakeshop.app.project import Project
from lakeshop.app.sync.ship import SyncResult, sync_postgres
from lakeshop.core.errors import LakeshopError
from lakeshop.pipeline import system
from lakeshop.retail.alerts import Firing

#: the step's name in ``_system.events`` and the alert's scope
STEP = "sync.postgres"
RULE = "sync_failed"


@dataclass(frozen=True)
class AfterRun:
    """The sync after a run: what it did, or why it failed."""

    result: SyncResult | None
    error: str | None
    seconds: float
    alerts: alerts.Outcome | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows_sent(self) -> int:
        return sum(t.rows_sent for t in self.result.tables) if self.result else 0


def sync_after_run(
    project: Project, run_id: str, batch_id: int | None, target: str | None = None
) -> AfterRun | None:
    """Ship to PostgreSQL after the run ``run_id`` when ``sync.after_run`` is set (None when
    it is not); record the step and alert on failure. Never raises for the sync itself."""
    if not project.config.sync.after_run:
        return None
    began = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    result: SyncResult | None = None
    error: str | None = None
    try:
        result = sync_postgres(project, target=target)
        if result.failed:
            error = "; ".join(f"{t.table}: {t.error}" for t in result.failed)
    except LakeshopError as exc:
        error = str(exc)
    seconds = time.perf_counter() - began
    done = AfterRun(result, error, seconds)
    sent = done.rows_sent
    system.record_step(
        project.lakehouse(target),
        run_id=run_id,
        batch_id=batch_id,
        step=STEP,
        kind="sync",
        rows=sent,
        seconds=seconds,
        error=error,
        started=started,
    )
    if error is None or not project.config.alerts.enabled:
        return done
    failed = len(result.failed) if result else 0
    firing = Firing(
        rule=RULE,
        severity="critical",
        scope=STEP,
        business_date=None,
        value=float(failed),
        threshold=0.0,
        message=f"the sync to PostgreSQL after run {run_id} failed: {error}",
        window=run_id,
    )
    outcome = alerts.record(project, alerts.Evaluation(None, [firing]), run_id, target)
    return AfterRun(result, error, seconds, outcome)

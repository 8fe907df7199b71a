"""``ml.refresh``: the models' gold tables refreshed by ``lakeshop run`` when their inputs
changed.

A step after the run (:mod:`lakeshop.app.hooks`), registered by :func:`install` (``app`` may
not import ``ml``: the commands that run the pipeline install it when ``ml.refresh.enabled``;
a notebook calls ``lakeshop.ml.refresh.install()``). After a run that ended ``ok``, for each
model of ``ml.refresh.models``: the Delta versions of the gold tables it reads
(:func:`lakeshop.ml.data.tables_read`) against those recorded with its last scoring in
``_system.ml_runs``. When they differ the model is scored again: churn and segments with
their stored version, trained first when there is none or it is older than
``retrain_every_days``; the demand forecast is trained again (its scores are the forecast its
training makes). A model scored less than ``min_interval_minutes`` ago waits for a later run.

Every training and scoring is tracked in ``_system.ml_runs`` with the trigger ``run <run
id>``, and each model's refresh is one step of the run in ``_system.events``
(``table_name`` ``ml.<model>``, kind ``ml``, rows scored, seconds, status, error), as the sync
after a run is. A model that fails fires ``ml_refresh_failed`` (once per model and run)
through the alert channels; the run stays ``ok``: its data is in gold.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lakeshop.app import alerts, hooks
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError, first_line
from lakeshop.ml import api, store
from lakeshop.ml.data import tables_read
from lakeshop.pipeline import interrupt, system
from lakeshop.pipeline.runner import RunSummary
from lakeshop.retail.alerts import Firing

log = logging.getLogger("lakeshop.ml.refresh")

#: the name the step is registered under
NAME = "ml.refresh"
RULE = "ml_refresh_failed"
TRIGGER = "run "


@dataclass(frozen=True)
class Plan:
    """What the refresh does for one model: ``train+score``, ``score`` or ``skip``, and why."""

    model: str
    action: str
    reason: str
    versions: dict[str, int | None]


def install() -> None:
    """Refresh the models after every run of this process (see the module)."""
    hooks.register(NAME, after_run)


def plan(project: Project, model: str, target: str | None = None) -> Plan:
    """What a refresh would do for ``model`` now."""
    settings = project.config.ml.refresh
    lakehouse = project.lakehouse(target)
    now = {t: lakehouse.version(t) if lakehouse.exists(t) else None for t in tables_read(model)}
    if any(v is None for v in now.values()):
        missing = ", ".join(t for t, v in now.items() if v is None)
        return Plan(model, "skip", f"{missing} not built yet", now)
    mine = [r for r in store.runs(lakehouse) if r["model"] == model and r["status"] == "ok"]
    scored = max((r for r in mine if r["action"] == "score"), key=_started, default=None)
    if scored is not None:
        before = json.loads(scored["data_versions"] or "{}")
        if {t: before.get(t) for t in now} == now:
            return Plan(model, "skip", "inputs unchanged since its last scoring", now)
        since = datetime.now(UTC).replace(tzinfo=None) - scored["started_at"]
        if since < timedelta(minutes=settings.min_interval_minutes):
            wait = f"scored {since.total_seconds() / 60:.0f} min ago"
            return Plan(model, "skip", f"inputs changed; {wait}, refreshed by a later run", now)
    changed = "inputs changed" if scored is not None else "never scored"
    if model == "demand_forecast":
        return Plan(model, "train+score", f"{changed}: the forecast is made again", now)
    trained = max((r for r in mine if r["action"] == "train"), key=_started, default=None)
    if not store.versions(lakehouse, model) or trained is None:
        return Plan(model, "train+score", f"{changed}; no model trained yet", now)
    age = datetime.now(UTC).replace(tzinfo=None) - trained["started_at"]
    if age >= timedelta(days=settings.retrain_every_days):
        days = age.total_seconds() / 86400
        return Plan(model, "train+score", f"{changed}; its model is {days:.1f} days old", now)
    return Plan(
        model, "score", f"{changed}: scored with v{store.versions(lakehouse, model)[-1]}", now
    )


def after_run(project: Project, summary: RunSummary, target: str | None) -> list[hooks.StepResult]:
    """The refresh after the run ``summary`` (under its writer lock)."""
    settings = project.config.ml.refresh
    if not settings.enabled:
        return []
    if summary.status != "ok" or interrupt.requested():
        why = "stopped by a signal" if interrupt.requested() else f"the run ended {summary.status}"
        return [hooks.StepResult(NAME, "skipped", f"{why}: models not refreshed")]
    return [_refresh(project, summary, target, model) for model in settings.models]


def _refresh(
    project: Project, summary: RunSummary, target: str | None, model: str
) -> hooks.StepResult:
    step = f"ml.{model}"
    began = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    trigger = f"{TRIGGER}{summary.run_id}"
    try:
        chosen = plan(project, model, target)
        if chosen.action == "skip":
            return hooks.StepResult(step, "skipped", chosen.reason)
        if chosen.action == "train+score":
            api.train(project, model, target, trigger=trigger, locked=True)
        (scored,) = api.score(project, model, target, trigger=trigger, locked=True)
    except (LakeshopError, ImportError, ValueError, ArithmeticError) as exc:
        # not enough history, the ml extra missing, a model that cannot fit: said, alerted
        seconds = time.perf_counter() - began
        error = first_line(exc)
        _record(project, summary, target, step, started, seconds, 0, error)
        _alert(project, summary, target, step, error)
        log.error("model not refreshed", extra={"model": model, "error": error})
        return hooks.StepResult(step, "failed", error, seconds)
    seconds = time.perf_counter() - began
    _record(project, summary, target, step, started, seconds, scored.rows, None)
    done = f"{chosen.reason}; {scored.rows:,} rows → {scored.table} (v{scored.version})"
    return hooks.StepResult(step, "ok", done, seconds)


def _record(
    project: Project,
    summary: RunSummary,
    target: str | None,
    step: str,
    started: datetime,
    seconds: float,
    rows: int,
    error: str | None,
) -> None:
    """The refresh of one model as a step of the run in ``_system.events``."""
    system.record_step(
        project.lakehouse(target),
        run_id=summary.run_id,
        batch_id=summary.batch_id,
        step=step,
        kind="ml",
        rows=rows,
        seconds=seconds,
        error=error,
        started=started,
    )


def _alert(
    project: Project, summary: RunSummary, target: str | None, step: str, error: str
) -> None:
    if not project.config.alerts.enabled:
        return
    firing = Firing(
        rule=RULE,
        severity="warning",
        scope=step,
        business_date=None,
        value=1.0,
        threshold=0.0,
        message=f"{step}: not refreshed after run {summary.run_id}: {error}",
        window=summary.run_id,
    )
    alerts.record(project, alerts.Evaluation(None, [firing]), summary.run_id, target)


def _started(row: dict[str, Any]) -> datetime:
    started: datetime = row["started_at"]
    return started

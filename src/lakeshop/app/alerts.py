"""Alerts in the app: the business rules (:mod:`lakeshop.retail.alerts`) evaluated after each run
against gold and ``_system``, each new firing recorded once in ``_system.alerts`` and sent.

A firing is identified by its dedup key (rule, scope, business date or the condition's window):
one already in ``_system.alerts`` is neither recorded nor sent again. docs/alerts.md defines
every rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lakeshop.app.alerts_config import AlertsConfig
from lakeshop.app.notify import Notice, deliver
from lakeshop.core.errors import LakeshopError
from lakeshop.pipeline import system
from lakeshop.retail import alerts as rules
from lakeshop.retail.alerts import Firing

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.project import Project


@dataclass
class Evaluation:
    """What the rules found as of a date, and the rules that could not be evaluated."""

    as_of: date | None
    firings: list[Firing] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    #: the business days the dated rules judged, in order (the as-of date last)
    days: list[date] = field(default_factory=list)


@dataclass
class Fired:
    """An alert recorded in ``_system.alerts`` (and sent) by this evaluation."""

    firing: Firing
    deliveries: dict[str, dict[str, Any]]


@dataclass
class Outcome:
    """The alerts of one run: fired now, already known, and rules not evaluated."""

    as_of: date | None
    fired: list[Fired] = field(default_factory=list)
    repeated: list[Firing] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def default_as_of(project: Project, target: str | None = None) -> date | None:
    """The latest business date of the data (latest order date in gold), None without sales."""
    from lakeshop.app import analytics

    try:
        return analytics.default_as_of(project, target)
    except LakeshopError:
        return None


def evaluate(
    project: Project,
    as_of: date | None = None,
    target: str | None = None,
    run_id: str | None = None,
) -> Evaluation:
    """Evaluate every enabled rule as of ``as_of`` (default: :func:`default_as_of`).

    Without ``as_of``, after a run (``run_id``), the dated rules (revenue, orders) judge
    every business day the run added or changed up to the as-of date, in order, then the
    as-of date itself; the other rules are evaluated once. Writes nothing. A rule that cannot
    be evaluated (a table missing after a failed run) is listed in ``errors`` and the others
    go on.
    """
    from lakeshop.app import reader

    config: AlertsConfig = project.config.alerts

    def query(sql: str, *, shape: str) -> pa.Table:
        return reader.query(project, sql, target, shape=shape)

    with reader.reading(project, target):
        earlier: list[date] = []
        if as_of is None and run_id is not None:
            try:
                earlier = rules.changed_days(query, run_id)
            except LakeshopError:  # no daily sales (the dated rules say why): none changed
                earlier = []
        as_of = as_of or default_as_of(project, target)
        found = Evaluation(as_of)
        found.days = [d for d in earlier if as_of is not None and d < as_of]
        for day in found.days:
            for name, check in rules.checks(config.rules, day, run_id).items():
                if name in rules.DATED:
                    _check(found, name, check, query)
        if as_of is not None:
            found.days.append(as_of)
        for name, check in rules.checks(config.rules, as_of, run_id).items():
            _check(found, name, check, query)
        return found


def _check(found: Evaluation, name: str, check: rules.Check, query: rules.Query) -> None:
    """Add what one rule fires to ``found``; a rule that cannot be evaluated goes to its
    errors (once, with the first problem)."""
    try:
        found.firings.extend(check(query))
    except LakeshopError as exc:
        found.errors.setdefault(name, str(exc))


def record(
    project: Project, evaluation: Evaluation, run_id: str | None, target: str | None = None
) -> Outcome:
    """Record and send the firings whose dedup key is not in ``_system.alerts`` yet.

    Call under the target's writer lock. Each new alert is sent through every channel (a
    failing one is retried, then recorded as failed), then recorded with its deliveries: a
    crash in between sends it again on the next run, never loses it. A channel that failed is
    not retried by later runs: the alert's row says it failed.
    """
    lakehouse = project.lakehouse(target)
    config: AlertsConfig = project.config.alerts
    known = set(system.read(lakehouse, system.ALERTS).column("dedup_key").to_pylist())
    outcome = Outcome(evaluation.as_of, errors=dict(evaluation.errors))
    rows = []
    for f in evaluation.firings:
        if f.dedup_key in known:
            outcome.repeated.append(f)
            continue
        known.add(f.dedup_key)
        day = f.business_date.isoformat() if f.business_date else None
        notice = Notice(
            f.alert_id, run_id, f.rule, f.severity, f.scope, day, f.value, f.threshold, f.message
        )
        sent = deliver(notice, config.channels, config.delivery)
        outcome.fired.append(Fired(f, sent))
        rows.append(
            {
                "alert_id": f.alert_id,
                "run_id": run_id,
                "fired_at": datetime.now(UTC).replace(tzinfo=None),
                "rule": f.rule,
                "severity": f.severity,
                "scope": f.scope,
                "business_date": f.business_date,
                "value": f.value,
                "threshold": f.threshold,
                "message": f.message,
                "dedup_key": f.dedup_key,
                "deliveries": json.dumps(sent, sort_keys=True),
            }
        )
    if rows:
        system.append(lakehouse, system.ALERTS, rows)
    return outcome


def after_run(
    project: Project, run_id: str, target: str | None = None, as_of: date | None = None
) -> Outcome:
    """Evaluate, record and send the alerts of a run that just ended (under its lock).

    Never raises for a rule or a channel: their problems are in the outcome's ``errors`` and
    deliveries.
    """
    if not project.config.alerts.enabled:
        return Outcome(as_of)
    try:
        evaluation = evaluate(project, as_of, target, run_id)
    except LakeshopError as exc:
        return Outcome(as_of, errors={"(all rules)": str(exc)})
    return record(project, evaluation, run_id, target)


def listing(
    project: Project, days: int | None = None, target: str | None = None
) -> list[dict[str, Any]]:
    """Fired alerts, newest first; ``days``: within that many days of the newest one."""
    rows: list[dict[str, Any]] = system.read(project.lakehouse(target), system.ALERTS).to_pylist()
    rows.sort(key=lambda r: (r["fired_at"], r["rule"], r["scope"]), reverse=True)
    if days is not None and rows:
        since = rows[0]["fired_at"] - timedelta(days=days)
        rows = [r for r in rows if r["fired_at"] >= since]
    return rows


LIST_COLUMNS = (
    "fired_at",
    "severity",
    "rule",
    "scope",
    "business_date",
    "value",
    "threshold",
    "message",
    "deliveries",
    "run_id",
)


def describe(outcome: Outcome) -> list[str]:
    """One line per alert fired (with each channel's delivery) and per rule not evaluated."""
    lines = []
    for a in outcome.fired:
        f = a.firing
        sent = ", ".join(
            f"{ch} {d['status']}"
            + (f" after {d['attempts']} attempts: {d['error']}" if d["error"] else "")
            for ch, d in a.deliveries.items()
        )
        lines.append(f"{f.severity} alert {f.rule} {f.scope}: {f.message} [{sent or 'no channel'}]")
    for rule, error in outcome.errors.items():
        lines.append(f"not evaluated: alert rule {rule}: {error}")
    return lines

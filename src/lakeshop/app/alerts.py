"""Business alert rules: evaluated after each run against gold and ``_system``, recorded once.

Each rule is one query in ``retail/sql/alerts/<rule>.sql`` (DuckDB dialect) returning the scopes
that fire with their ``value`` and ``threshold``; its parameters (``$as_of``, thresholds) are
rendered as SQL literals from validated settings, never from user text. A firing is identified
by its dedup key (rule, scope, business date or the condition's window): one already in
``_system.alerts`` is neither recorded nor sent again. docs/alerts.md defines every rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lakeshop.app.notify import Channels, Delivery, Notice, deliver
from lakeshop.core.errors import LakeshopError
from lakeshop.pipeline import system

if TYPE_CHECKING:
    from lakeshop.app.project import Project

SQL_DIR = Path(__file__).parents[1] / "retail" / "sql" / "alerts"
Severity = Literal["info", "warning", "critical"]
FreshSource = Literal[
    "orders", "payments", "refunds", "returns", "clickstream", "inventory", "fx_rates"
]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class RevenueDrop(_Rule):
    """Revenue of the day below the trailing average by more than ``threshold_pct``."""

    severity: Severity = "warning"
    threshold_pct: float = Field(default=40.0, gt=0, lt=100)
    trailing_days: int = Field(default=7, ge=1, le=366)
    #: scopes averaging fewer orders a day are too noisy to check (a small channel)
    min_orders: int = Field(default=30, ge=0)


class OrderFloor(_Rule):
    """Orders of the day below ``min_orders`` or ``min_share`` of the trailing average."""

    severity: Severity = "critical"
    min_orders: int = Field(default=1, ge=0)
    min_share: float = Field(default=0.3, ge=0, le=1)
    trailing_days: int = Field(default=7, ge=1, le=366)


class Freshness(_Rule):
    """Hours since a source's latest business timestamp and latest file, against SLAs."""

    severity: Severity = "warning"
    sources: list[FreshSource] = Field(default=["orders"], min_length=1)
    max_hours_since_data: float = Field(default=12.0, gt=0)
    max_hours_since_file: float = Field(default=12.0, gt=0)
    #: data: the latest delivery of any source (deterministic); wall: the time of evaluation
    clock: Literal["data", "wall"] = "data"


class FailureRate(_Rule):
    """Share of failed or aborted runs over a window."""

    severity: Severity = "critical"
    max_rate: float = Field(default=0.5, ge=0, le=1)
    window_hours: float = Field(default=24.0, gt=0)
    min_runs: int = Field(default=3, ge=1)


class QuarantineRate(_Rule):
    """Share of a table's input rows quarantined (or rejected) in a run."""

    severity: Severity = "warning"
    max_rate: float = Field(default=0.1, ge=0, le=1)
    #: a table that read fewer rows in the run is too small for a rate (a quiet day re-checks
    #: rows waiting in quarantine for a late parent against few new ones)
    min_rows: int = Field(default=500, ge=1)


class Rules(BaseModel):
    """``alerts.rules``: every rule is on with its defaults unless configured."""

    model_config = ConfigDict(extra="forbid")
    revenue_drop: RevenueDrop = RevenueDrop()
    order_floor: OrderFloor = OrderFloor()
    freshness: Freshness = Freshness()
    pipeline_failure_rate: FailureRate = FailureRate()
    quarantine_rate: QuarantineRate = QuarantineRate()


class AlertsConfig(BaseModel):
    """``alerts`` in ``lakeshop.yml``."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    rules: Rules = Rules()
    channels: Channels = Channels()
    delivery: Delivery = Delivery()


@dataclass(frozen=True)
class Firing:
    """A rule's condition met for one scope."""

    rule: str
    severity: str
    scope: str
    business_date: date | None
    value: float
    threshold: float
    message: str
    window: str  # the business date, or the condition's window (e.g. the clock's day)

    @property
    def dedup_key(self) -> str:
        return f"{self.rule}|{self.scope}|{self.window}"

    @property
    def alert_id(self) -> str:
        return hashlib.sha256(self.dedup_key.encode()).hexdigest()[:16]


@dataclass
class Evaluation:
    """What the rules found as of a date, and the rules that could not be evaluated."""

    as_of: date | None
    firings: list[Firing] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class _Spec:
    sql: str  # file stem under sql/alerts
    setting: str  # key under alerts.rules
    params: Callable[[Any, date | None], dict[str, Any] | None]  # None: not evaluated
    message: Callable[[dict[str, Any], date | None], str]
    window: Callable[[dict[str, Any], date | None], str]
    dated: bool  # business_date is the as-of date


def _hours(v: float) -> str:
    return f"{v:.1f} h"


def _day(_row: dict[str, Any], as_of: date | None) -> str:
    return str(as_of)


def _clock_day(row: dict[str, Any], _as_of: date | None) -> str:
    return f"day {row['clock']:%Y-%m-%d}"


def _now(rule: Freshness) -> datetime | None:
    return datetime.now(UTC).replace(tzinfo=None) if rule.clock == "wall" else None


SPECS: dict[str, _Spec] = {
    "revenue_drop": _Spec(
        "revenue_drop",
        "revenue_drop",
        lambda r, d: (
            None
            if d is None
            else {
                "as_of": d,
                "trailing_days": r.trailing_days,
                "threshold_pct": r.threshold_pct,
                "min_orders": r.min_orders,
            }
        ),
        lambda row, d: (
            f"revenue {row['scope']} on {d}: {row['value']:,.2f} is "
            f"{100 * (1 - row['value'] / row['baseline']):.0f}% below the average "
            f"{row['baseline']:,.2f} of the trailing days (alert below {row['threshold']:,.2f})"
        ),
        _day,
        True,
    ),
    "order_floor": _Spec(
        "order_floor",
        "order_floor",
        lambda r, d: (
            None
            if d is None
            else {
                "as_of": d,
                "trailing_days": r.trailing_days,
                "min_orders": r.min_orders,
                "min_share": r.min_share,
            }
        ),
        lambda row, d: (
            f"orders on {d}: {row['value']:,.0f}, below the floor {row['threshold']:,.0f}"
            + (f" (trailing average {row['baseline']:,.0f})" if row["baseline"] is not None else "")
        ),
        _day,
        True,
    ),
    "data_freshness": _Spec(
        "data_freshness",
        "freshness",
        lambda r, d: {
            "now": _now(r),
            "sources": list(r.sources),
            "max_hours": r.max_hours_since_data,
        },
        lambda row, d: (
            f"{row['scope'].removeprefix('source=')}: latest business timestamp "
            f"{row['latest'] or 'none'} is {_hours(row['value'])} old at {row['clock']} "
            f"(SLA {_hours(row['threshold'])})"
        ),
        _clock_day,
        False,
    ),
    "file_freshness": _Spec(
        "file_freshness",
        "freshness",
        lambda r, d: {
            "now": _now(r),
            "sources": list(r.sources),
            "max_hours": r.max_hours_since_file,
        },
        lambda row, d: (
            f"{row['scope'].removeprefix('source=')}: latest file delivered "
            f"{row['latest'] or 'never'}, {_hours(row['value'])} before {row['clock']} "
            f"(SLA {_hours(row['threshold'])})"
        ),
        _clock_day,
        False,
    ),
    "pipeline_failure_rate": _Spec(
        "pipeline_failure_rate",
        "pipeline_failure_rate",
        lambda r, d: {
            "window_hours": r.window_hours,
            "max_rate": r.max_rate,
            "min_runs": r.min_runs,
        },
        lambda row, d: (
            f"{row['failed']} of {row['runs']} runs failed in the window ending {row['clock']} "
            f"({row['value']:.0%}, ceiling {row['threshold']:.0%})"
        ),
        _clock_day,
        False,
    ),
    "quarantine_rate": _Spec(
        "quarantine_rate",
        "quarantine_rate",
        lambda r, d: {"run_id": None, "max_rate": r.max_rate, "min_rows": r.min_rows},
        lambda row, d: (
            f"{row['scope'].removeprefix('table=')}: {row['rows_quarantined']:,} of "
            f"{row['rows_in']:,} rows quarantined in run {row['run_id']} "
            f"({row['value']:.1%}, ceiling {row['threshold']:.1%})"
        ),
        lambda row, d: f"run {row['run_id']}",
        True,
    ),
}

_PARAM = re.compile(r"\$([a-z_]+)\b")


def literal(value: Any) -> str:
    """A validated Python value as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        return ", ".join(literal(v) for v in value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def template(name: str) -> str:
    """The rule's SQL, its ``$param`` placeholders unfilled."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def render(name: str, params: dict[str, Any]) -> str:
    """The rule's SQL with every ``$param`` replaced by its literal."""
    sql = template(name)

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in params:
            raise LakeshopError(f"alert rule {name}: no value for parameter ${m.group(1)}")
        return literal(params[m.group(1)])

    return _PARAM.sub(sub, sql)


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

    Writes nothing. A rule that cannot be evaluated (a table missing after a failed run) is
    listed in ``errors`` and the others go on.
    """
    from lakeshop.app import api

    config: AlertsConfig = project.config.alerts
    with api.reading(project, target):
        as_of = as_of or default_as_of(project, target)
        found = Evaluation(as_of)
        for name, spec in SPECS.items():
            rule = getattr(config.rules, spec.setting)
            if not rule.enabled:
                continue
            params = spec.params(rule, as_of)
            if params is None:
                continue
            if "run_id" in params:
                params["run_id"] = run_id
            try:
                rendered = render(spec.sql, params)
                shape = template(spec.sql)
                rows = api.query(project, rendered, target, shape=shape).to_pylist()
            except LakeshopError as exc:
                found.errors[name] = str(exc)
                continue
            for row in rows:
                found.firings.append(
                    Firing(
                        name,
                        rule.severity,
                        row["scope"],
                        as_of if spec.dated else None,
                        float(row["value"]),
                        float(row["threshold"]),
                        spec.message(row, as_of),
                        spec.window(row, as_of),
                    )
                )
        return found


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

"""Business alert rules: their settings, and each rule as a function of a query function.

Each rule is one query in ``retail/sql/alerts/<rule>.sql`` (DuckDB dialect) returning the scopes
that fire with their ``value`` and ``threshold``; its parameters (``$as_of``, thresholds) are
rendered as SQL literals from validated settings, never from user text. A firing is identified
by its dedup key (rule, scope, business date or the condition's window). Which engine answers
the query, and what becomes of a firing (recorded once in ``_system.alerts``, sent), is the
caller's: see :mod:`lakeshop.app.alerts`. docs/alerts.md defines every rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from lakeshop.core import sqltext

if TYPE_CHECKING:
    import pyarrow as pa

SQL_DIR = Path(__file__).parent / "sql" / "alerts"
Severity = Literal["info", "warning", "critical"]
FreshSource = Literal[
    "orders", "payments", "refunds", "returns", "clickstream", "inventory", "fx_rates"
]


# --- settings (``alerts.rules`` in lakeshop.yml) --------------------------------------------


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


# --- what a rule fires ----------------------------------------------------------------------


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


class Query(Protocol):
    """Runs a read-only query over ``schema.table`` names (gold, ``_system``).

    ``shape``: a text reading the same tables as ``sql`` (the rule's template, before its
    parameters were filled in), from which the tables read can be found once and cached.
    """

    def __call__(self, sql: str, *, shape: str) -> pa.Table: ...


#: a rule bound to its settings: the alerts it fires, given a query function
Check = Callable[[Query], list[Firing]]


# --- the rules ------------------------------------------------------------------------------


def revenue_drop(query: Query, rule: RevenueDrop, as_of: date | None) -> list[Firing]:
    """Revenue (in total and per channel) on ``as_of`` far below its trailing average."""
    if as_of is None:
        return []
    params = {
        "as_of": as_of,
        "trailing_days": rule.trailing_days,
        "threshold_pct": rule.threshold_pct,
        "min_orders": rule.min_orders,
    }
    return [
        _firing(
            "revenue_drop",
            rule.severity,
            row,
            as_of,
            f"revenue {row['scope']} on {as_of}: {row['value']:,.2f} is "
            f"{100 * (1 - row['value'] / row['baseline']):.0f}% below the average "
            f"{row['baseline']:,.2f} of the trailing days (alert below {row['threshold']:,.2f})",
            str(as_of),
        )
        for row in _rows(query, "revenue_drop", params)
    ]


def order_floor(query: Query, rule: OrderFloor, as_of: date | None) -> list[Firing]:
    """Orders on ``as_of`` below a floor (absolute, or a share of the trailing average)."""
    if as_of is None:
        return []
    params = {
        "as_of": as_of,
        "trailing_days": rule.trailing_days,
        "min_orders": rule.min_orders,
        "min_share": rule.min_share,
    }
    return [
        _firing(
            "order_floor",
            rule.severity,
            row,
            as_of,
            f"orders on {as_of}: {row['value']:,.0f}, below the floor {row['threshold']:,.0f}"
            + (
                f" (trailing average {row['baseline']:,.0f})" if row["baseline"] is not None else ""
            ),
            str(as_of),
        )
        for row in _rows(query, "order_floor", params)
    ]


def data_freshness(query: Query, rule: Freshness) -> list[Firing]:
    """Sources whose latest business timestamp is older than the SLA at the clock."""
    params = {
        "now": _now(rule),
        "sources": tuple(rule.sources),  # an IN list
        "max_hours": rule.max_hours_since_data,
    }
    return [
        _firing(
            "data_freshness",
            rule.severity,
            row,
            None,
            f"{row['scope'].removeprefix('source=')}: no newer business data for "
            f"{_hours(row['value'])} at {row['clock']} (latest business timestamp "
            f"{row['latest'] or 'none yet'}; SLA {_hours(row['threshold'])})",
            _clock_day(row),
        )
        for row in _rows(query, "data_freshness", params)
    ]


def file_freshness(query: Query, rule: Freshness) -> list[Firing]:
    """Sources whose latest file was delivered longer before the clock than the SLA."""
    params = {
        "now": _now(rule),
        "sources": list(rule.sources),
        "max_hours": rule.max_hours_since_file,
    }
    return [
        _firing(
            "file_freshness",
            rule.severity,
            row,
            None,
            f"{row['scope'].removeprefix('source=')}: "
            + (
                f"latest file delivered {row['latest']}, {_hours(row['value'])} before "
                if row["latest"] is not None
                else f"no file delivered yet, {_hours(row['value'])} after the first "
                "delivery of any source, at "
            )
            + f"{row['clock']} (SLA {_hours(row['threshold'])})",
            _clock_day(row),
        )
        for row in _rows(query, "file_freshness", params)
    ]


def pipeline_failure_rate(query: Query, rule: FailureRate) -> list[Firing]:
    """Too large a share of failed or aborted runs in the window ending at the latest run."""
    params = {
        "window_hours": rule.window_hours,
        "max_rate": rule.max_rate,
        "min_runs": rule.min_runs,
    }
    return [
        _firing(
            "pipeline_failure_rate",
            rule.severity,
            row,
            None,
            f"{row['failed']} of {row['runs']} runs failed in the window ending {row['clock']} "
            f"({row['value']:.0%}, ceiling {row['threshold']:.0%})",
            _clock_day(row),
        )
        for row in _rows(query, "pipeline_failure_rate", params)
    ]


def quarantine_rate(
    query: Query, rule: QuarantineRate, as_of: date | None, run_id: str | None
) -> list[Firing]:
    """Tables that quarantined too large a share of the rows they read in a run (``run_id``,
    or the latest run)."""
    params = {"run_id": run_id, "max_rate": rule.max_rate, "min_rows": rule.min_rows}
    return [
        _firing(
            "quarantine_rate",
            rule.severity,
            row,
            as_of,
            f"{row['scope'].removeprefix('table=')}: {row['rows_quarantined']:,} of "
            f"{row['rows_in']:,} rows quarantined in run {row['run_id']} "
            f"({row['value']:.1%}, ceiling {row['threshold']:.1%})",
            f"run {row['run_id']}",
        )
        for row in _rows(query, "quarantine_rate", params)
    ]


#: the rules judging one business day (the as-of date); the others judge the run or a clock
DATED = frozenset({"revenue_drop", "order_floor"})


def changed_days(query: Query, run_id: str) -> list[date]:
    """The business days whose daily sales the run added or changed: the ``sales_date`` of
    the rows of ``gold.agg_daily_sales`` it wrote (a recompute that changes nothing keeps a
    day's rows and their batch)."""
    return [r["sales_date"] for r in _rows(query, "changed_days", {"run_id": run_id})]


def checks(rules: Rules, as_of: date | None, run_id: str | None = None) -> dict[str, Check]:
    """The enabled rules by name, in evaluation order, each bound to its settings.

    ``as_of``: the business date the revenue and order rules judge (without one they fire
    nothing); ``run_id``: the run whose quarantine rates are checked (default: the latest).
    """
    bound: dict[str, tuple[_Rule, Check]] = {
        "revenue_drop": (
            rules.revenue_drop,
            lambda query: revenue_drop(query, rules.revenue_drop, as_of),
        ),
        "order_floor": (
            rules.order_floor,
            lambda query: order_floor(query, rules.order_floor, as_of),
        ),
        "data_freshness": (rules.freshness, lambda query: data_freshness(query, rules.freshness)),
        "file_freshness": (rules.freshness, lambda query: file_freshness(query, rules.freshness)),
        "pipeline_failure_rate": (
            rules.pipeline_failure_rate,
            lambda query: pipeline_failure_rate(query, rules.pipeline_failure_rate),
        ),
        "quarantine_rate": (
            rules.quarantine_rate,
            lambda query: quarantine_rate(query, rules.quarantine_rate, as_of, run_id),
        ),
    }
    return {name: check for name, (settings, check) in bound.items() if settings.enabled}


def _firing(
    rule: str,
    severity: str,
    row: dict[str, Any],
    business_date: date | None,
    message: str,
    window: str,
) -> Firing:
    return Firing(
        rule,
        severity,
        row["scope"],
        business_date,
        float(row["value"]),
        float(row["threshold"]),
        message,
        window,
    )


def _rows(query: Query, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the rule's query (the scopes that fire): each ``$param`` of its SQL is a
    literal of its value (a tuple an ``IN`` list, a list an array); a missing or unknown one
    raises."""
    rule = sqltext.Template(template(name), f"alert rule {name}")
    rows: list[dict[str, Any]] = query(rule.render(params), shape=rule.text).to_pylist()
    return rows


def _hours(v: float) -> str:
    return f"{v:.1f} h"


def _clock_day(row: dict[str, Any]) -> str:
    return f"day {row['clock']:%Y-%m-%d}"


def _now(rule: Freshness) -> datetime | None:
    return datetime.now(UTC).replace(tzinfo=None) if rule.clock == "wall" else None


# --- the rules' SQL -------------------------------------------------------------------------


def template(name: str) -> str:
    """The rule's SQL, its ``$param`` placeholders unfilled."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")

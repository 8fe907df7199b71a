"""The alert rules as pure functions: a query function and thresholds in, firings out."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from lakeshop.retail import alerts
from lakeshop.retail.alerts import FailureRate, RevenueDrop, Rules

DAY = date(2026, 1, 9)


class Answer:
    """A query function answering every query with the same rows, and noting what it was asked."""

    def __init__(self, rows: list[dict[str, object]]) -> None:
        self.rows = rows
        self.asked: list[tuple[str, str]] = []

    def __call__(self, sql: str, *, shape: str) -> pa.Table:
        self.asked.append((sql, shape))
        return pa.Table.from_pylist(self.rows)


def test_revenue_drop_fires_the_scopes_its_query_returns():
    query = Answer([{"scope": "total", "value": 400.0, "threshold": 600.0, "baseline": 1000.0}])
    [fired] = alerts.revenue_drop(query, RevenueDrop(threshold_pct=40), DAY)
    assert (fired.rule, fired.severity, fired.scope, fired.business_date) == (
        "revenue_drop",
        "warning",
        "total",
        DAY,
    )
    assert (fired.value, fired.threshold, fired.window) == (400.0, 600.0, str(DAY))
    assert fired.message == (
        "revenue total on 2026-01-09: 400.00 is 60% below the average 1,000.00 of the "
        "trailing days (alert below 600.00)"
    )
    [(sql, shape)] = query.asked
    assert "DATE '2026-01-09'" in sql and "40.0" in sql and "$" not in sql
    assert shape == alerts.template("revenue_drop")


def test_a_dated_rule_without_a_date_asks_nothing():
    query = Answer([])
    assert alerts.revenue_drop(query, RevenueDrop(), None) == []
    assert alerts.order_floor(query, alerts.OrderFloor(), None) == []
    assert query.asked == []


def test_the_failure_rate_is_deduplicated_per_day_of_its_clock():
    clock = datetime(2026, 1, 10, 3, 0)
    row = {"scope": "total", "value": 2 / 3, "threshold": 0.5, "runs": 3, "failed": 2}
    [fired] = alerts.pipeline_failure_rate(Answer([row | {"clock": clock}]), FailureRate())
    assert fired.business_date is None and fired.window == "day 2026-01-10"
    assert fired.dedup_key == "pipeline_failure_rate|total|day 2026-01-10"
    assert "2 of 3 runs failed" in fired.message


def test_checks_are_the_enabled_rules_in_order():
    assert list(alerts.checks(Rules(), DAY)) == [
        "revenue_drop",
        "order_floor",
        "data_freshness",
        "file_freshness",
        "pipeline_failure_rate",
        "quarantine_rate",
    ]
    quiet = Rules.model_validate(
        {"freshness": {"enabled": False}, "order_floor": {"enabled": False}}
    )
    assert list(alerts.checks(quiet, DAY)) == [
        "revenue_drop",
        "pipeline_failure_rate",
        "quarantine_rate",
    ]

"""Run history and table freshness, read from ``_system`` and the Delta tables themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app.project import Project
from lakeshop.pipeline import system

#: business timestamp columns, in order of preference: a table's freshness is the max of the
#: first one it has (typed as a timestamp or a date)
BUSINESS_TIME = (
    "order_ts",
    "transaction_ts",
    "refund_ts",
    "returned_at",
    "event_ts",
    "snapshot_date",
    "rate_date",
    "order_date",
    "return_date",
    "sales_date",
    "event_date",
    "rate_day",
    "month",
    "updated_at",
)

HISTORY_COLUMNS = [
    "run_id",
    "status",
    "trigger",
    "started_at",
    "duration_s",
    "tables_ok",
    "tables_failed",
    "tables_skipped",
    "rows_written",
    "error",
]

#: which row of a run wins when it has several (its start, then its end)
_FINAL = {"running": 0, "ok": 1, "failed": 1, "aborted": 1, "interrupted": 1}


def history(project: Project, days: int | None = None, target: str | None = None) -> pa.Table:
    """One row per run, newest first: its latest status, duration, tables and rows written.

    ``days`` keeps the runs started within that many days of the newest run.
    """
    lakehouse = project.lakehouse(target)
    latest: dict[str, dict[str, Any]] = {}
    for r in system.read(lakehouse, system.RUNS).to_pylist():
        seen = latest.get(r["run_id"])
        if seen is None or _rank(r) >= _rank(seen):
            latest[r["run_id"]] = r
    events: dict[str, list[dict[str, Any]]] = {}
    for e in system.read(lakehouse, system.EVENTS).to_pylist():
        events.setdefault(e["run_id"], []).append(e)
    runs = sorted(latest.values(), key=lambda r: (r["started_at"], r["run_id"]), reverse=True)
    if days is not None and runs:
        since = runs[0]["started_at"] - timedelta(days=days)
        runs = [r for r in runs if r["started_at"] >= since]
    rows = []
    for r in runs:
        mine = events.get(r["run_id"], [])
        counts = {s: sum(e["status"] == s for e in mine) for s in ("ok", "failed", "skipped")}
        ended = r["ended_at"]
        rows.append(
            {
                "run_id": r["run_id"],
                "status": r["status"],
                "trigger": r["trigger"],
                "started_at": r["started_at"],
                "duration_s": round((ended - r["started_at"]).total_seconds(), 1)
                if ended
                else None,
                "tables_ok": _count(r["tables_ok"], counts["ok"]),
                "tables_failed": _count(r["tables_failed"], counts["failed"]),
                "tables_skipped": _count(r["tables_skipped"], counts["skipped"]),
                "rows_written": sum(e["rows_written"] or 0 for e in mine),
                "error": r["error"],
            }
        )
    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("status", pa.string()),
            ("trigger", pa.string()),
            ("started_at", pa.timestamp("us")),
            ("duration_s", pa.float64()),
            ("tables_ok", pa.int64()),
            ("tables_failed", pa.int64()),
            ("tables_skipped", pa.int64()),
            ("rows_written", pa.int64()),
            ("error", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _rank(run: dict[str, Any]) -> tuple[int, datetime]:
    ended = run["ended_at"] or datetime.min
    return _FINAL.get(str(run["status"]), 1), ended


def _count(recorded: int | None, counted: int) -> int:
    """The run's own count when it recorded one (it ended), else its events' count."""
    return counted if recorded is None else int(recorded)


def freshness(project: Project, target: str | None = None) -> dict[str, dict[str, Any]]:
    """Per stored table: ``latest_data`` (max of its business timestamp column, with the
    column's name) and ``hours_since_refresh`` (since its last commit)."""
    lakehouse = project.lakehouse(target)
    now = datetime.now(UTC)
    out: dict[str, dict[str, Any]] = {}
    for name, table in project.graph.tables.items():
        if not table.stored or not lakehouse.exists(name):
            continue
        dt = lakehouse.delta(name)
        ms = dt.history(1)[0].get("timestamp")
        committed = datetime.fromtimestamp(ms / 1000, UTC) if ms else None
        dataset = lakehouse.dataset(name)
        column = business_time_column(dataset.schema)
        latest = None
        if column is not None:
            latest = pc.max(dataset.to_table(columns=[column]).column(column)).as_py()
        out[name] = {
            "latest_data": latest,
            "latest_data_column": column,
            "hours_since_refresh": round((now - committed).total_seconds() / 3600, 2)
            if committed
            else None,
        }
    return out


def business_time_column(schema: pa.Schema) -> str | None:
    """The first of :data:`BUSINESS_TIME` in ``schema`` typed as a timestamp or a date."""
    for column in BUSINESS_TIME:
        if column in schema.names:
            kind = schema.field(column).type
            if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
                return column
    return None


def describe_time(value: Any) -> str:
    """A latest-data value for display: dates as is, timestamps to the second."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)

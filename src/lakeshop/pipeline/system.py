"""The ``_system`` tables: files, runs, events, expectations and alerts, as Delta tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from lakeshop.engines.arrow_rows import empty_table, rows_table
from lakeshop.engines.lakehouse import Lakehouse

FILES = "_system.files"
RUNS = "_system.runs"
EVENTS = "_system.events"
EXPECTATIONS = "_system.expectations"
ALERTS = "_system.alerts"
#: one row per table and sync to an outside database (lakeshop.app.sync)
SYNC = "_system.sync"
#: the lakehouse's format version: one row when created, one per migration
#: (lakeshop.pipeline.lakeformat)
FORMAT = "_system.format"
#: one row per request to the query service (lakeshop.app.access.audit)
ACCESS = "_system.access"
#: one row per training, scoring or backtest of a model, and the backtests' metrics
#: (lakeshop.ml.store); created with the others, so that a dashboard over them works before
#: any model is trained
ML_RUNS = "_system.ml_runs"
ML_BACKTESTS = "_system.ml_backtests"

_TS = pa.timestamp("us")

SCHEMAS: dict[str, pa.Schema] = {
    FILES: pa.schema(
        [
            ("source", pa.string()),
            ("path", pa.string()),
            ("size", pa.int64()),
            ("modified_at", _TS),
            ("sha256", pa.string()),
            ("batch_id", pa.int64()),
            ("run_id", pa.string()),
            ("rows", pa.int64()),
            ("rejected_lines", pa.int64()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("raw_path", pa.string()),
            ("ingested_at", _TS),
            # e.g. "added: loyalty_points; missing optional: phone" (added to older tables
            # by the first append: Delta appends merge the schema)
            ("schema_change", pa.string()),
            # fingerprint of the source's configuration the file was read under (see
            # lakeshop.pipeline.changes); null in entries written before it was recorded
            ("config_fingerprint", pa.string()),
            # rows the source's `where:` left out (not in bronze; NULL in older entries)
            ("rows_filtered", pa.int64()),
            # JSON {lookup: {path, files: [raw copies]}}: the reference files the rows were
            # joined with (`lookup:`), read again by a replay
            ("lookups", pa.string()),
        ]
    ),
    RUNS: pa.schema(
        [
            ("run_id", pa.string()),
            ("batch_id", pa.int64()),
            ("target", pa.string()),
            ("engine", pa.string()),
            ("trigger", pa.string()),
            ("full_refresh", pa.bool_()),
            ("status", pa.string()),
            ("started_at", _TS),
            ("ended_at", _TS),
            ("tables_ok", pa.int64()),
            ("tables_failed", pa.int64()),
            ("tables_skipped", pa.int64()),
            ("error", pa.string()),
            ("lakeshop_version", pa.string()),
            # files refused in the run (status error), and landing files matching no source
            # (JSON list of landing-relative paths); null in rows written before they were
            ("files_refused", pa.int64()),
            ("unmatched_files", pa.string()),
        ]
    ),
    EVENTS: pa.schema(
        [
            ("run_id", pa.string()),
            ("batch_id", pa.int64()),
            ("table_name", pa.string()),
            ("kind", pa.string()),
            ("rows_in", pa.int64()),
            ("rows_written", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("rows_deduplicated", pa.int64()),
            ("duration_s", pa.float64()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("started_at", _TS),
            # rows a source's `where:` left out (bronze only; NULL in older logs): rows_in =
            # written + quarantined + deduplicated + filtered
            ("rows_filtered", pa.int64()),
        ]
    ),
    EXPECTATIONS: pa.schema(
        [
            ("run_id", pa.string()),
            ("table_name", pa.string()),
            ("expectation", pa.string()),
            ("action", pa.string()),
            ("passed", pa.int64()),
            ("failed", pa.int64()),
        ]
    ),
    # one row per alert fired (see lakeshop.app.alerts); never two with one dedup_key
    ALERTS: pa.schema(
        [
            ("alert_id", pa.string()),
            ("run_id", pa.string()),
            ("fired_at", _TS),
            ("rule", pa.string()),
            ("severity", pa.string()),
            ("scope", pa.string()),  # 'total', 'channel=online', 'source=orders' …
            ("business_date", pa.date32()),
            ("value", pa.float64()),
            ("threshold", pa.float64()),
            ("message", pa.string()),
            ("dedup_key", pa.string()),
            # JSON: {channel: {status: sent|failed, attempts: n, error: text or null}}
            ("deliveries", pa.string()),
        ]
    ),
    SYNC: pa.schema(
        [
            ("sync_id", pa.string()),
            ("target", pa.string()),
            ("destination", pa.string()),  # 'postgres' (never the connection string)
            ("table_name", pa.string()),  # the lakehouse table, schema.table
            ("dest_table", pa.string()),  # where it went, e.g. gold.fact_sales
            ("mode", pa.string()),  # full, incremental, unchanged, verify
            ("from_version", pa.int64()),  # the Delta version shipped before (NULL: none)
            ("to_version", pa.int64()),
            ("rows_sent", pa.int64()),
            ("rows_deleted", pa.int64()),
            ("seconds", pa.float64()),
            ("status", pa.string()),  # ok, failed
            ("error", pa.string()),
            ("note", pa.string()),
            ("started_at", _TS),
        ]
    ),
    FORMAT: pa.schema(
        [
            ("format_version", pa.int64()),
            ("lakeshop_version", pa.string()),
            ("recorded_at", _TS),
            ("note", pa.string()),  # "created", or what the migration to it did
        ]
    ),
    ACCESS: pa.schema(
        [
            ("event_time", _TS),
            ("user_name", pa.string()),
            ("role", pa.string()),
            ("action", pa.string()),  # sql, saved_query, tables, login, ...
            ("object", pa.string()),  # tables read, or the route's object
            ("statement_hash", pa.string()),  # SHA-256 of the statement as received
            ("statement", pa.string()),  # tokens found in it replaced by lsk_***
            ("rows", pa.int64()),
            ("status", pa.string()),  # ok, refused, denied, unauthenticated, error, timeout
            ("http_status", pa.int64()),
            ("error", pa.string()),
            ("duration_ms", pa.float64()),
            ("client_address", pa.string()),
        ]
    ),
    ML_RUNS: pa.schema(
        [
            ("ml_run_id", pa.string()),
            ("model", pa.string()),  # demand_forecast, churn, segments
            ("action", pa.string()),  # train, score, backtest
            ("model_version", pa.int64()),
            ("status", pa.string()),  # ok, failed
            ("started_at", _TS),
            ("duration_s", pa.float64()),
            ("params", pa.string()),  # JSON: the model's settings
            ("data_versions", pa.string()),  # JSON: {gold table: Delta version read}
            ("metrics", pa.string()),  # JSON
            ("artifact_path", pa.string()),
            ("rows_written", pa.int64()),
            ("error", pa.string()),
            # manual (lakeshop ml), or "run <run id>": the refresh after that run (ml.refresh)
            ("trigger", pa.string()),
        ]
    ),
    ML_BACKTESTS: pa.schema(
        [
            ("ml_run_id", pa.string()),
            ("model", pa.string()),
            ("fold", pa.string()),  # 1..n, or 'all'
            ("cutoff", pa.date32()),  # the fold's origin (NULL for 'all')
            ("role", pa.string()),  # model, baseline
            ("method", pa.string()),  # e.g. AutoETS+TSB, SeasonalNaive, lightgbm, recency
            ("metric", pa.string()),
            ("value", pa.float64()),
            ("created_at", _TS),
        ]
    ),
}


def append(lakehouse: Lakehouse, name: str, rows: list[dict[str, Any]]) -> None:
    """Append rows (dicts keyed by column) to a system table, creating it on first use."""
    schema = SCHEMAS[name]
    table = rows_table(rows, schema)
    if rows or not lakehouse.exists(name):
        lakehouse.write(name, table, "append")


def record_step(
    lakehouse: Lakehouse,
    *,
    run_id: str | None,
    batch_id: int | None,
    step: str,
    kind: str,
    rows: int,
    seconds: float,
    error: str | None,
    started: datetime,
) -> None:
    """A step that follows a run (a sync, a model's refresh) as a row of ``_system.events``:
    its rows, time and outcome beside the run's tables."""
    row = {
        "run_id": run_id,
        "batch_id": batch_id,
        "table_name": step,
        "kind": kind,
        "rows_in": rows,
        "rows_written": rows,
        "rows_quarantined": 0,
        "rows_deduplicated": 0,
        "rows_filtered": 0,
        "duration_s": seconds,
        "status": "ok" if error is None else "failed",
        "error": error,
        "started_at": started,
    }
    append(lakehouse, EVENTS, [row])


def create_missing(lakehouse: Lakehouse) -> None:
    """Create every system table that does not exist yet, empty (a query over any of them
    works from the first run on)."""
    for name in SCHEMAS:
        if not lakehouse.exists(name):
            append(lakehouse, name, [])


def read(lakehouse: Lakehouse, name: str) -> pa.Table:
    """A system table, empty with its schema when it does not exist yet.

    Columns added to the schema since the table was written read as nulls (a lakehouse of an
    older version keeps working; its next append adds them); columns are in the schema's order.
    """
    schema = SCHEMAS[name]
    if not lakehouse.exists(name):
        return empty_table(schema)
    table = lakehouse.read(name)
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    other = [c for c in table.column_names if c not in schema.names]
    return table.select([*schema.names, *other])

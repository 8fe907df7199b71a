"""``lakeshop sync postgres``: ship lakehouse tables to PostgreSQL, incrementally, verified.

Per table, under one advisory lock for the database:

1. the table's latest Delta version is pinned (a run committing meanwhile changes nothing of
   what is read); ``lakeshop_sync.state`` says which version PostgreSQL holds;
2. same version and columns: nothing to do. Otherwise, with a change column (see
   :mod:`~lakeshop.app.sync.tables`) and the shipped version still readable, the values of
   that column in the files added or removed in between are the touched ones: they and the
   new version's rows holding them are COPYed into staging tables of ``lakeshop_sync``, then
   one transaction deletes the touched values and inserts their rows. Else the table is
   replaced whole: COPY into a staging table, then one transaction truncates and refills it
   (created or rebuilt: created and filled in that one transaction);
3. before that transaction commits, the rows and a checksum of what it wrote are compared
   with Delta's (the whole table after a full load; the touched rows and the row count after
   an incremental one); a difference rolls it back and fails the table, naming it;
4. the new version is recorded in ``lakeshop_sync.state`` in the same transaction.

A reader in PostgreSQL sees a table's old rows or its new ones, never a mix. A sync killed
anywhere leaves every table as its last commit left it, with the state that matches, and
the next sync completes the work. Each sync is recorded in ``_system.sync``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app.project import Project
from lakeshop.app.sync.masks import Mask, masks_for
from lakeshop.app.sync.pgtypes import PG, ArrowChecksum, PgColumn, differences, pg_columns
from lakeshop.app.sync.postgres import META_SCHEMA, Dsn, Postgres, State, staging_name
from lakeshop.app.sync.tables import SyncTable, plan
from lakeshop.core.errors import LakeshopError, TableNotFound
from lakeshop.core.logs import get_logger
from lakeshop.core.sqltext import column, columns, table
from lakeshop.engines.snapshots import Snapshot, changed_values, snapshot
from lakeshop.pipeline import system

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from lakeshop.engines.lakehouse import Lakehouse

log = get_logger(__name__)


class SyncMismatch(LakeshopError):
    """PostgreSQL does not hold what Delta holds after a table's sync (rolled back)."""


@dataclass
class TableSync:
    """What the sync did to one table."""

    table: str
    dest: str
    mode: str = "unchanged"  # full, incremental, unchanged, verify
    from_version: int | None = None
    to_version: int | None = None
    rows_sent: int = 0
    rows_deleted: int = 0
    seconds: float = 0.0
    status: str = "ok"
    error: str | None = None
    note: str = ""
    #: when its work began (time.perf_counter)
    began: float = field(default_factory=time.perf_counter, repr=False, compare=False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.began


@dataclass
class SyncResult:
    sync_id: str
    tables: list[TableSync] = field(default_factory=list)

    @property
    def failed(self) -> list[TableSync]:
        return [t for t in self.tables if t.status != "ok"]


Listener = Callable[[TableSync], None]


def sync_postgres(
    project: Project,
    *,
    target: str | None = None,
    select: Sequence[str] | None = None,
    full: bool = False,
    verify: bool = False,
    listener: Listener | None = None,
) -> SyncResult:
    """Ship the target's tables (``select``, or those of ``sync.postgres``) to the database
    of ``$LAKESHOP_POSTGRES_DSN`` (the variable ``sync.postgres.dsn_env`` names); with
    ``verify``, only compare each shipped table with the Delta version it was shipped from."""
    settings = project.config.sync.postgres
    name, _ = project.target(target)
    mask = masks_for(settings.role)
    dsn = Dsn.from_env(settings.dsn_env)
    size = settings.batch_rows
    lakehouse = project.lakehouse(target)
    tables = plan(project, lakehouse, settings, select)
    result = SyncResult(uuid.uuid4().hex)
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        with Postgres(dsn, settings.lock_timeout_s) as pg:
            pg.lock()
            pg.ensure_meta()
            states = pg.states()
            for t in tables:
                outcome = TableSync(t.name, t.dest)
                try:
                    if verify:
                        _verify(pg, lakehouse, t, states.get(t.name), size, outcome)
                    else:
                        _sync_table(pg, lakehouse, t, states.get(t.name), full, mask, size, outcome)
                except LakeshopError as exc:
                    outcome.status, outcome.error = "failed", dsn.redact(str(exc))
                except Exception as exc:  # a table's failure is reported; the others go on
                    message = f"{type(exc).__name__}: {exc}"
                    outcome.status, outcome.error = "failed", dsn.redact(message)
                outcome.seconds = outcome.elapsed()
                log.info(
                    "sync %s → %s: %s %s, %d rows sent",
                    t.name,
                    t.dest,
                    outcome.mode,
                    outcome.status,
                    outcome.rows_sent,
                )
                result.tables.append(outcome)
                if listener is not None:
                    listener(outcome)
    finally:
        _record(lakehouse, name, result, started)
    return result


def _record(lakehouse: Lakehouse, target: str, result: SyncResult, started: datetime) -> None:
    if not result.tables:
        return
    rows = [
        {
            "sync_id": result.sync_id,
            "target": target,
            "destination": "postgres",
            "table_name": t.table,
            "dest_table": t.dest,
            "mode": t.mode,
            "from_version": t.from_version,
            "to_version": t.to_version,
            "rows_sent": t.rows_sent,
            "rows_deleted": t.rows_deleted,
            "seconds": t.seconds,
            "status": t.status,
            "error": t.error,
            "note": t.note,
            "started_at": started,
        }
        for t in result.tables
    ]
    system.append(lakehouse, system.SYNC, rows)


def _fingerprint(cols: list[PgColumn]) -> str:
    return json.dumps([[c.name, c.pg_type] for c in cols])


def _sync_table(
    pg: Postgres,
    lakehouse: Lakehouse,
    t: SyncTable,
    state: State | None,
    full: bool,
    mask: Mask | None,
    size: int,
    outcome: TableSync,
) -> None:
    snap = snapshot(lakehouse, t.name)
    cols = pg_columns(t.name, snap.schema)
    fingerprint = _fingerprint(cols)
    exists = pg.exists(t.pg_schema, t.pg_name)
    ours = state is not None and exists and state.dest_table == t.dest
    outcome.from_version = state.version if ours and state else None
    outcome.to_version = snap.version
    same_columns = ours and state is not None and state.columns == fingerprint
    if same_columns and state is not None and state.version == snap.version and not full:
        outcome.mode = "unchanged"
        return
    if same_columns and state is not None and not full and t.change_column:
        touched, why = _touched(lakehouse, t, state.version, snap)
        if touched is not None:
            _incremental(pg, t, snap, cols, touched, mask, size, outcome)
            return
        outcome.note = why
    _full(pg, t, snap, cols, state if ours else None, exists, mask, size, outcome)


def _touched(
    lakehouse: Lakehouse, t: SyncTable, version: int, new: Snapshot
) -> tuple[pa.Array | None, str]:
    """The change column's values touched since ``version``, or None and why not."""
    assert t.change_column is not None
    try:
        old = snapshot(lakehouse, t.name, version)
    except TableNotFound:
        return None, f"version {version} is no longer readable: replaced whole"
    values = changed_values(old, new, t.change_column)
    if values is None:
        return None, f"files of version {version} no longer readable: replaced whole"
    return values, ""


def _batches(
    snap: Snapshot, names: list[str], size: int, mask: Mask | None, filter: Any = None
) -> Iterator[pa.RecordBatch]:
    dataset: pads.Dataset = snap.dataset()
    for batch in dataset.to_batches(columns=names, filter=filter, batch_size=size):
        yield mask(snap.name, batch) if mask is not None else batch


def _incremental(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    cols: list[PgColumn],
    touched: pa.Array,
    mask: Mask | None,
    size: int,
    outcome: TableSync,
) -> None:
    import pyarrow.dataset as pads

    key = t.change_column
    assert key is not None
    outcome.mode = "incremental"
    names = [c.name for c in cols]
    key_col = next(c for c in cols if c.name == key)
    rows_stage = staging_name(t.pg_schema, t.pg_name, "rows")
    keys_stage = staging_name(t.pg_schema, t.pg_name, "touched")
    for stage, stage_cols in ((rows_stage, cols), (keys_stage, [key_col])):
        pg.drop_table(META_SCHEMA, stage)
        pg.create_table(META_SCHEMA, stage, stage_cols, unlogged=True)
    has_null = touched.null_count > 0
    values = pc.drop_null(touched)
    pg.copy(META_SCHEMA, keys_stage, [key_col], pa.table({key: touched}).to_batches())
    condition = pads.field(key).isin(values)
    if has_null:
        condition = condition | pads.field(key).is_null()
    sent = ArrowChecksum(cols)
    batches = _batches(snap, names, size, mask, condition)
    outcome.rows_sent = pg.copy(META_SCHEMA, rows_stage, cols, batches, sent)

    target = table(t.pg_schema, t.pg_name, dialect=PG)
    k = column(key, "t", dialect=PG)
    keys_table = table(META_SCHEMA, keys_stage, dialect=PG)
    in_touched = f"{k} IN (SELECT {column(key, dialect=PG)} FROM {keys_table})"
    if has_null:
        in_touched = f"({in_touched} OR {k} IS NULL)"
    expected_rows = snap.rows if snap.rows is not None else snap.dataset().count_rows()
    with pg.transaction():
        deleted = pg.execute(
            f"WITH d AS (DELETE FROM {target} AS t WHERE {in_touched} RETURNING 1) SELECT count(*) FROM d"
        )
        outcome.rows_deleted = int(deleted[0][0])
        listed = columns(names, dialect=PG)
        pg.execute(
            f"INSERT INTO {target} ({listed}) SELECT {listed} "
            f"FROM {table(META_SCHEMA, rows_stage, dialect=PG)}"
        )
        total = pg.count(t.pg_schema, t.pg_name)
        if total != expected_rows:
            raise SyncMismatch(
                f"table {t.name}: {total:,} rows in PostgreSQL {t.dest} after the incremental "
                f"sync, {expected_rows:,} in Delta version {snap.version}; rolled back"
            )
        _settle(pg, t, snap, cols, sent.values(), total, outcome, f"AS t WHERE {in_touched}")
    for stage in (rows_stage, keys_stage):
        pg.drop_table(META_SCHEMA, stage)


def _full(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    cols: list[PgColumn],
    state: State | None,
    exists: bool,
    mask: Mask | None,
    size: int,
    outcome: TableSync,
) -> None:
    outcome.mode = "full"
    names = [c.name for c in cols]
    sent = ArrowChecksum(cols)
    old = json.loads(state.columns) if state is not None else None
    new = [[c.name, c.pg_type] for c in cols]
    added = old is not None and new[: len(old)] == old and len(new) > len(old)
    rebuild = exists and not added and old != new
    if exists and (state is None or rebuild):
        why = "no sync state for it" if state is None else "its columns changed"
        outcome.note = _join(outcome.note, f"{t.dest} rebuilt ({why})")
    if added and old is not None:
        names_added = ", ".join(n for n, _ in new[len(old) :])
        outcome.note = _join(outcome.note, f"new column(s) {names_added} added to {t.dest}")
    if not exists or rebuild or state is None:
        # created (or rebuilt) and filled in one transaction
        with pg.transaction():
            pg.drop_table(t.pg_schema, t.pg_name)
            pg.create_table(t.pg_schema, t.pg_name, cols)
            batches = _batches(snap, names, size, mask)
            outcome.rows_sent = pg.copy(t.pg_schema, t.pg_name, cols, batches, sent)
            if t.change_column:
                pg.index(t.pg_schema, t.pg_name, t.change_column)
            _settle(pg, t, snap, cols, sent.values(), outcome.rows_sent, outcome)
        return
    stage = staging_name(t.pg_schema, t.pg_name, "full")
    pg.drop_table(META_SCHEMA, stage)
    pg.create_table(META_SCHEMA, stage, cols, unlogged=True)
    outcome.rows_sent = pg.copy(META_SCHEMA, stage, cols, _batches(snap, names, size, mask), sent)
    target = table(t.pg_schema, t.pg_name, dialect=PG)
    listed = columns(names, dialect=PG)
    with pg.transaction():
        if added and old is not None:
            pg.add_columns(t.pg_schema, t.pg_name, cols[len(old) :])
        outcome.rows_deleted = pg.count(t.pg_schema, t.pg_name)
        pg.execute(f"TRUNCATE {target}")
        pg.execute(
            f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {table(META_SCHEMA, stage, dialect=PG)}"
        )
        _settle(pg, t, snap, cols, sent.values(), outcome.rows_sent, outcome)
    pg.drop_table(META_SCHEMA, stage)


def _settle(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    cols: list[PgColumn],
    delta: Iterable[Any],
    rows: int,
    outcome: TableSync,
    where: str = "",
) -> None:
    """Inside the table's transaction: check PostgreSQL against Delta, then record the
    version shipped (a mismatch raises before the record, rolling both back)."""
    _compare(pg, t, snap, cols, list(delta), where)
    pg.record_state(
        State(t.name, t.dest, snap.version, _fingerprint(cols), rows, datetime.now(UTC)),
        outcome.elapsed(),
    )


def _compare(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    cols: list[PgColumn],
    delta: list[Any],
    where: str = "",
) -> None:
    """Fail the table (rolling its transaction back) unless PostgreSQL's checksum of the
    rows (those ``where`` selects) equals Delta's."""
    found = pg.checksum(t.pg_schema, t.pg_name, cols, where)
    wrong = differences(cols, delta, found)
    if wrong:
        scope = "touched rows" if where else "rows"
        raise SyncMismatch(
            f"table {t.name}: PostgreSQL {t.dest} differs from Delta version {snap.version} "
            f"({scope}): {'; '.join(wrong[:3])}; rolled back"
        )


def _verify(
    pg: Postgres,
    lakehouse: Lakehouse,
    t: SyncTable,
    state: State | None,
    size: int,
    outcome: TableSync,
) -> None:
    """Compare PostgreSQL's table with the Delta version it was shipped from."""
    outcome.mode = "verify"
    if state is None or not pg.exists(t.pg_schema, t.pg_name):
        raise SyncMismatch(
            f"table {t.name}: never shipped to PostgreSQL (run lakeshop sync postgres)"
        )
    outcome.from_version = outcome.to_version = state.version
    try:
        snap = snapshot(lakehouse, t.name, state.version)
    except TableNotFound:
        raise SyncMismatch(
            f"table {t.name}: version {state.version}, the one shipped, is no longer readable "
            "(vacuumed); sync again to verify"
        ) from None
    cols = pg_columns(t.name, snap.schema)
    expected = ArrowChecksum(cols)
    for batch in _batches(snap, [c.name for c in cols], size, None):
        expected.add(batch)
    _compare(pg, t, snap, cols, expected.values())
    latest = lakehouse.version(t.name)
    if latest is not None and latest != state.version:
        outcome.note = f"Delta is at version {latest}: sync to ship it"


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b

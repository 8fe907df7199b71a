"""``lakeshop sync postgres``: ship lakehouse tables to PostgreSQL, incrementally, verified.

Per table, under one advisory lock for the database:

1. the table's latest Delta version is pinned (a run committing meanwhile changes nothing of
   what is read); ``lakeshop_sync.state`` says which version PostgreSQL holds;
2. same version and columns: nothing to do. Otherwise, with a change column (see
   :mod:`~lakeshop.app.sync.tables`) and the shipped version still readable, the values of
   that column in the rows that differ in the files added or removed in between are the
   touched ones: in one transaction, they and the new version's rows holding them are COPYed
   into temporary tables, then the touched values are deleted and their rows inserted. Else
   the table is replaced whole: in one transaction, COPY into a temporary table, then truncate
   and refill (created or rebuilt: created and filled in that one transaction);
3. before that transaction commits, the rows and a checksum of what it wrote are compared
   with Delta's (the whole table after a full load; the touched rows and the row count after
   an incremental one); a difference rolls it back and fails the table, naming it;
4. the new version is recorded in ``lakeshop_sync.state`` in the same transaction.

A table created (or rebuilt) gets its primary key, indexes and comments in the transaction
that fills it; a sync that writes drops the foreign keys first and adds them, and the business
views, again at its end (:mod:`~lakeshop.app.sync.bi`). A reader in PostgreSQL sees a table's old rows or its new ones, never a mix. A sync killed
anywhere leaves every table as its last commit left it, with the state that matches, and
the next sync completes the work. Each sync is recorded in ``_system.sync``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeshop.app.project import Project
from lakeshop.app.sync import bi, verify
from lakeshop.app.sync.masks import Governance, TableView
from lakeshop.app.sync.pgtypes import PG, ArrowChecksum, PgColumn, pg_columns
from lakeshop.app.sync.postgres import TEMP, Dsn, Postgres, PostgresError, State
from lakeshop.app.sync.tables import SyncTable, plan
from lakeshop.app.sync.verify import SyncMismatch
from lakeshop.core.errors import LakeshopError, TableNotFound
from lakeshop.core.logs import get_logger
from lakeshop.core.sqltext import column, columns, table
from lakeshop.engines.snapshots import Change, Snapshot, changes, snapshot
from lakeshop.pipeline import system

if TYPE_CHECKING:
    from lakeshop.engines.lakehouse import Lakehouse

log = get_logger(__name__)


@dataclass
class TableSync:
    """What the sync did to one table."""

    table: str
    dest: str
    mode: str = "unchanged"  # full, incremental, unchanged, verify, skipped
    from_version: int | None = None
    to_version: int | None = None
    rows_sent: int = 0
    rows_deleted: int = 0
    seconds: float = 0.0
    status: str = "ok"  # ok, failed, skipped (the role may not read it)
    error: str | None = None
    note: str = ""
    #: when its work began (time.perf_counter)
    began: float = field(default_factory=time.perf_counter, repr=False, compare=False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.began


@dataclass
class SyncResult:
    sync_id: str
    target: str | None = None
    tables: list[TableSync] = field(default_factory=list)
    #: foreign keys in place after the sync, and the business views created
    foreign_keys: int = 0
    views: list[str] = field(default_factory=list)
    views_schema: str | None = None

    @property
    def failed(self) -> list[TableSync]:
        return [t for t in self.tables if t.status == "failed"]


Listener = Callable[[TableSync], None]


def sync_postgres(
    project: Project,
    *,
    target: str | None = None,
    select: Sequence[str] | None = None,
    full: bool = False,
    verify: bool = False,
    role: str | None = None,
    listener: Listener | None = None,
) -> SyncResult:
    """Ship the target's tables (``select``, or those of ``sync.postgres``) to the database
    of ``$LAKESHOP_POSTGRES_DSN`` (the variable ``sync.postgres.dsn_env`` names); with
    ``verify``, only compare each shipped table with the Delta version it was shipped from.
    ``role`` (else ``sync.postgres.role``/``user``): ship what that role of ``access.yml``
    reads, masked and filtered, and only the tables it is granted."""
    settings = project.config.sync.postgres
    if role is not None:
        settings = settings.model_copy(update={"role": role})
    name, _ = project.target(target)
    governance = Governance.of(project, settings, target)
    dsn = Dsn.from_env(settings.dsn_env)
    size = settings.batch_rows
    lakehouse = project.lakehouse(target)
    tables = plan(project, lakehouse, settings, select)
    result = SyncResult(uuid.uuid4().hex, target)
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        with Postgres(dsn, settings.lock_timeout_s) as pg:
            pg.lock()
            pg.ensure_meta()
            states = pg.states()
            writes = not verify and (full or _any_change(lakehouse, governance, tables, states))
            if writes:  # a dimension may be truncated or rewritten: no key may refer to it
                bi.drop_foreign_keys(pg, tables)
            for t in tables:
                outcome = TableSync(t.name, t.dest)
                try:
                    denied = governance.denied(t.name) if governance is not None else None
                    if denied is not None:
                        _skip(pg, t, states.get(t.name), denied, outcome)
                    elif verify:
                        _verify(pg, lakehouse, governance, t, states.get(t.name), size, outcome)
                    else:
                        job = _Job(pg, project, lakehouse, governance, size, full)
                        _sync_table(job, t, states.get(t.name), outcome)
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
            if not verify:
                _finish(pg, project, tables, result, writes)
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


@dataclass(frozen=True)
class _Job:
    """What every table's sync of one run shares."""

    pg: Postgres
    project: Project
    lakehouse: Lakehouse
    governance: Governance | None
    size: int
    full: bool


def _any_change(
    lakehouse: Lakehouse,
    governance: Governance | None,
    tables: list[SyncTable],
    states: dict[str, State],
) -> bool:
    """Whether the sync will write: a table never shipped, at another version, or whose
    columns or access policy changed (a table the role may not read, never shipped, is not)."""
    for t in tables:
        state = states.get(t.name)
        denied = governance.denied(t.name) if governance is not None else None
        if state is None:
            if denied is None:
                return True
            continue
        if denied is not None or state.dest_table != t.dest:
            return True
        if state.version != lakehouse.version(t.name):
            return True
        schema = lakehouse.schema(t.name)
        try:
            view = governance.view(t.name, schema) if governance is not None else None
            cols = pg_columns(t.name, view.schema if view is not None else schema)
        except LakeshopError:
            return True  # the table's sync will say why
        if state.columns != verify.fingerprint(cols, view):
            return True
    return False


def _finish(
    pg: Postgres, project: Project, tables: list[SyncTable], result: SyncResult, writes: bool
) -> None:
    """After the tables: foreign keys (again) and the business views, over every table of
    ``sync.postgres`` PostgreSQL holds (a ``--select`` sync drops the keys of its tables too)."""
    settings = project.config.sync.postgres
    everything = {t.name: t for t in plan(project, project.lakehouse(result.target), settings)}
    everything.update({t.name: t for t in tables})
    held = pg.states()
    shipped = {n: t for n, t in everything.items() if n in held and held[n].dest_table == t.dest}
    columns_of = {n: pg.column_names(t.pg_schema, t.pg_name) for n, t in shipped.items()}
    keys = bi.foreign_keys(project, shipped.values(), columns_of)
    result.foreign_keys = bi.add_foreign_keys(pg, keys)
    schema = project.config.sync.postgres.views_schema
    # a killed sync may have dropped views with a table it rebuilt: made again then too
    if schema and (writes or not bi.views_in_place(pg, schema, shipped)):
        result.views = bi.create_views(pg, schema, shipped)
        result.views_schema = schema


def _sync_table(job: _Job, t: SyncTable, state: State | None, outcome: TableSync) -> None:
    """Ship one table (or find it unchanged)."""
    pg = job.pg
    snap = snapshot(job.lakehouse, t.name)
    view = job.governance.view(t.name, snap.schema) if job.governance is not None else None
    cols = pg_columns(t.name, view.schema if view is not None else snap.schema)
    fingerprint = verify.fingerprint(cols, view)
    exists = pg.exists(t.pg_schema, t.pg_name)
    ours = state is not None and exists and state.dest_table == t.dest
    outcome.from_version = state.version if ours and state else None
    outcome.to_version = snap.version
    same_columns = ours and state is not None and state.columns == fingerprint
    if same_columns and state is not None and state.version == snap.version and not job.full:
        outcome.mode = "unchanged"
        return
    for attempt in (1, 2):
        try:
            shipped = state if ours else None
            _apply(job, t, snap, view, cols, shipped, exists, same_columns, outcome)
            return
        except PostgresError as exc:
            # a key the new rows break (a NULL or a duplicate): keep the rows, drop the key
            if attempt == 2 or not (exc.sqlstate or "").startswith("23"):
                raise
            pg.drop_primary_key(t.pg_schema, t.pg_name)
            outcome.note = _join(outcome.note, f"primary key dropped: {exc}")


def _apply(
    job: _Job,
    t: SyncTable,
    snap: Snapshot,
    view: TableView | None,
    cols: list[PgColumn],
    state: State | None,
    exists: bool,
    same_columns: bool,
    outcome: TableSync,
) -> None:
    by = t.change_column
    if by is not None and view is not None and by in view.masked:
        # PostgreSQL holds the masked values of the change column: the raw touched ones
        # would not find them
        outcome.note = f"{by}, the column changes go by, is masked: replaced whole"
        by = None
    if same_columns and state is not None and not job.full and by:
        try:
            old = snapshot(job.lakehouse, t.name, state.version)
        except TableNotFound:
            outcome.note = f"version {state.version} is no longer readable: replaced whole"
        else:
            with changes(old, snap, by) as change:
                if change is not None:
                    _incremental(job, t, snap, view, cols, change, outcome)
                    return
            outcome.note = f"files of version {state.version} no longer readable: replaced whole"
    _full(job, t, snap, view, cols, state, exists, outcome)


def _incremental(
    job: _Job,
    t: SyncTable,
    snap: Snapshot,
    view: TableView | None,
    cols: list[PgColumn],
    change: Change,
    outcome: TableSync,
) -> None:
    """Only the rows of touched values: the Delta change read once (:func:`changes`)."""
    pg, size = job.pg, job.size
    key = t.change_column
    assert key is not None
    outcome.mode = "incremental"
    names = [c.name for c in cols]
    key_col = next(c for c in cols if c.name == key)
    touched = change.touched
    sent = ArrowChecksum(cols)
    target = table(t.pg_schema, t.pg_name, dialect=PG)
    k = column(key, "t", dialect=PG)
    keys_table = table(TEMP, "touched_values", dialect=PG)
    in_touched = f"{k} IN (SELECT {column(key, dialect=PG)} FROM {keys_table})"
    if touched.null_count > 0:
        in_touched = f"({in_touched} OR {k} IS NULL)"
    expected_rows = verify.expected_rows(snap, view, size)
    # one transaction: staged (temporary tables, dropped at its end, even by a kill), then
    # applied; readers keep the old rows until it commits
    with pg.transaction():
        pg.create_temp("touched_values", [key_col])
        pg.copy(TEMP, "touched_values", [key_col], pa.table({key: touched}).to_batches())
        pg.execute(f"ANALYZE {keys_table}")
        pg.create_temp("touched_rows", cols)
        batches: Iterator[pa.RecordBatch] = change.rows(snap.schema.names, size)
        if view is not None:
            batches = view.apply(batches)
        outcome.rows_sent = pg.copy(TEMP, "touched_rows", cols, batches, sent, freeze=True)
        deleted = pg.execute(
            f"WITH d AS (DELETE FROM {target} AS t WHERE {in_touched} RETURNING 1) SELECT count(*) FROM d"
        )
        outcome.rows_deleted = int(deleted[0][0])
        listed = columns(names, dialect=PG)
        pg.execute(
            f"INSERT INTO {target} ({listed}) SELECT {listed} "
            f"FROM {table(TEMP, 'touched_rows', dialect=PG)}"
        )
        total = pg.count(t.pg_schema, t.pg_name)
        if total != expected_rows:
            raise SyncMismatch(
                f"table {t.name}: {total:,} rows in PostgreSQL {t.dest} after the incremental "
                f"sync, {expected_rows:,} in Delta version {snap.version}; rolled back"
            )
        _settle(pg, t, snap, view, cols, sent.values(), total, outcome, f"AS t WHERE {in_touched}")


def _full(
    job: _Job,
    t: SyncTable,
    snap: Snapshot,
    view: TableView | None,
    cols: list[PgColumn],
    state: State | None,
    exists: bool,
    outcome: TableSync,
) -> None:
    pg, size = job.pg, job.size
    outcome.mode = "full"
    names = [c.name for c in cols]
    sent = ArrowChecksum(cols)
    old, old_policy = verify.columns_of(state.columns) if state is not None else (None, None)
    new, policy = verify.columns_of(verify.fingerprint(cols, view))
    if state is not None and old_policy != policy:
        outcome.note = _join(outcome.note, "the access policy's masks or filters changed")
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
            pg.drop_table(t.pg_schema, t.pg_name, cascade=True)  # views: made again at the end
            pg.create_table(t.pg_schema, t.pg_name, cols)
            batches = verify.row_batches(snap, size, view)
            outcome.rows_sent = pg.copy(t.pg_schema, t.pg_name, cols, batches, sent, freeze=True)
            outcome.note = _join(outcome.note, bi.structure(pg, job.project, t, cols))
            _settle(pg, t, snap, view, cols, sent.values(), outcome.rows_sent, outcome)
        return
    target = table(t.pg_schema, t.pg_name, dialect=PG)
    listed = columns(names, dialect=PG)
    with pg.transaction():
        # staged first (a temporary table): the table is locked only for the refill
        pg.create_temp("all_rows", cols)
        batches = verify.row_batches(snap, size, view)
        outcome.rows_sent = pg.copy(TEMP, "all_rows", cols, batches, sent, freeze=True)
        if added and old is not None:
            pg.add_columns(t.pg_schema, t.pg_name, cols[len(old) :])
        outcome.rows_deleted = pg.count(t.pg_schema, t.pg_name)
        pg.execute(f"TRUNCATE {target}")
        pg.execute(
            f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {table(TEMP, 'all_rows', dialect=PG)}"
        )
        _settle(pg, t, snap, view, cols, sent.values(), outcome.rows_sent, outcome)


def _settle(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    view: TableView | None,
    cols: list[PgColumn],
    delta: Iterable[Any],
    rows: int,
    outcome: TableSync,
    where: str = "",
) -> None:
    """Inside the table's transaction: check PostgreSQL against Delta, then record the
    version shipped (a mismatch raises before the record, rolling both back)."""
    verify.compare(pg, t, snap, cols, list(delta), where)
    pg.record_state(
        State(
            t.name, t.dest, snap.version, verify.fingerprint(cols, view), rows, datetime.now(UTC)
        ),
        outcome.elapsed(),
    )


def _verify(
    pg: Postgres,
    lakehouse: Lakehouse,
    governance: Governance | None,
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
    view = governance.view(t.name, snap.schema) if governance is not None else None
    cols = pg_columns(t.name, view.schema if view is not None else snap.schema)
    expected = ArrowChecksum(cols)
    for batch in verify.row_batches(snap, size, view):
        expected.add(batch)
    verify.compare(pg, t, snap, cols, expected.values())
    latest = lakehouse.version(t.name)
    if latest is not None and latest != state.version:
        outcome.note = f"Delta is at version {latest}: sync to ship it"


def _skip(pg: Postgres, t: SyncTable, state: State | None, why: str, outcome: TableSync) -> None:
    """A table the role may not read: not shipped; one an earlier sync shipped (for another
    role, or none) is dropped, so that PostgreSQL holds nothing the role may not read."""
    outcome.mode, outcome.status, outcome.note = "skipped", "skipped", why
    if state is not None and state.dest_table == t.dest:
        with pg.transaction():
            pg.drop_table(t.pg_schema, t.pg_name, cascade=True)
            pg.forget_state(t.name)
        outcome.note = _join(why, f"{t.dest}, shipped by an earlier sync, dropped")


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b

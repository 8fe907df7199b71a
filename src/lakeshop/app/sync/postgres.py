"""The PostgreSQL side of the sync: the connection (its string read from the environment and
never shown), the lakeshop-owned schema ``lakeshop_sync`` (state and staging tables), COPY of
Arrow batches, and the statements that apply a table's change in one transaction.

psycopg (3) is imported only here (the ``postgres`` extra). Data goes over ``COPY … FROM
STDIN (FORMAT binary)``, each Arrow batch encoded by :mod:`~lakeshop.app.sync.pgbinary`, or as
CSV rendered by Arrow's C++ writer when a column has no binary form there: no Python code runs
per row. (ADBC's PostgreSQL driver was the other candidate; its binary COPY has altered
``numeric`` values whose scale is not a multiple of 4, such as DECIMAL(18,2) money, in
released versions: apache/arrow-adbc#3485, #4507.)
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from lakeshop.app.sync import pgbinary
from lakeshop.app.sync.pgtypes import PG, ArrowChecksum, PgColumn, pg_checksum_select
from lakeshop.app.sync.stream import ahead, binary_chunks, csv_chunks
from lakeshop.core.errors import LakeshopError, MissingDependency
from lakeshop.core.sqltext import columns, ident, table

if TYPE_CHECKING:
    import psycopg

#: the schema lakeshop owns in the database: the sync state
META_SCHEMA = "lakeshop_sync"
#: the session's schema of temporary tables (the staged rows of a table's transaction)
TEMP = "pg_temp"
STATE = table(META_SCHEMA, "state", dialect=PG)
#: one sync of a database at a time (a session-level advisory lock, freed if the process dies)
LOCK_KEY = 7_164_011_852_300_417


class DsnNotSet(LakeshopError):
    """The environment variable that should hold the connection string is not set."""

    exit_code = 2

    def __init__(self, variable: str):
        self.variable = variable
        super().__init__(
            f"environment variable {variable} is not set: set it to the PostgreSQL connection "
            "string (postgresql://user:password@host:5432/dbname); sync.postgres.dsn_env in "
            "lakeshop.yml names the variable"
        )


class PostgresError(LakeshopError):
    """PostgreSQL refused or failed something; the message never holds the password."""

    def __init__(self, message: str, sqlstate: str | None = None):
        super().__init__(message)
        #: PostgreSQL's error code (``23505``: a duplicate key …), when it gave one
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Dsn:
    """A connection string read from the environment, with what must never be shown."""

    variable: str
    value: str

    @classmethod
    def from_env(cls, variable: str) -> Dsn:
        value = os.environ.get(variable, "").strip()
        if not value:
            raise DsnNotSet(variable)
        return cls(variable, value)

    def secrets(self) -> list[str]:
        """The whole string and its password, in every spelling it may be echoed in."""
        found = [self.value]
        try:
            url = urlsplit(self.value)
            if url.password:
                found += [url.password, unquote(url.password)]
        except ValueError:
            pass
        match = re.search(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", self.value)
        if match:
            found += [match.group(1), match.group(1).strip("'")]
        return sorted({s for s in found if len(s) >= 2}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with the string, its password and any ``password=…`` replaced by ``***``."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        text = re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)

    def where(self) -> str:
        """``host:port/dbname`` (what a message may say), without user or password."""
        try:
            from psycopg.conninfo import conninfo_to_dict

            parts = conninfo_to_dict(self.value)
        except Exception:
            return f"the database of {self.variable}"
        host = parts.get("host") or "localhost"
        return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDependency(
            "lakeshop sync postgres needs psycopg: pip install 'lakeshop[postgres]'"
        ) from exc
    return psycopg


@dataclass(frozen=True)
class State:
    """What ``lakeshop_sync.state`` says of a table: the Delta version it holds."""

    table_name: str
    dest_table: str
    version: int
    columns: str
    rows: int
    synced_at: datetime


class Postgres:
    """One connection (autocommit outside :meth:`transaction`), errors redacted."""

    def __init__(self, dsn: Dsn, lock_timeout_s: float = 60.0):
        self.dsn = dsn
        driver = _psycopg()
        try:
            self.conn: psycopg.Connection[Any] = driver.connect(
                dsn.value, autocommit=True, application_name="lakeshop sync", connect_timeout=15
            )
        except driver.Error as exc:
            raise PostgresError(
                f"cannot connect to PostgreSQL at {dsn.where()} (from {dsn.variable}): "
                f"{dsn.redact(str(exc).strip())}"
            ) from None
        self.execute("SET TimeZone = 'UTC'")
        self.execute(f"SET lock_timeout = {int(lock_timeout_s * 1000)}")
        # indexes and keys are built after a load: a sort in memory rather than on disk
        self.execute("SET maintenance_work_mem = '256MB'")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """PostgreSQL's errors in the block as one :class:`PostgresError` saying ``what``."""
        driver = _psycopg()
        try:
            yield
        except driver.Error as exc:
            message = self.dsn.redact(" ".join(str(exc).split()))
            raise PostgresError(f"{what}: {message}", getattr(exc, "sqlstate", None)) from None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (empty when it returns none)."""
        with self.errors("PostgreSQL"), self.conn.cursor() as cur:
            cur.execute(sql.encode(), params)  # bytes: the text is built by core.sqltext
            return list(cur.fetchall()) if cur.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed at the end of the block, rolled back on any error."""
        with self.errors("PostgreSQL"), self.conn.transaction():
            yield

    def lock(self) -> None:
        """Wait (up to the lock timeout) for any other sync of this database to finish."""
        with self.errors("another lakeshop sync of this database is running (waited)"):
            self.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])

    # --- lakeshop's schema ---------------------------------------------------------------

    def ensure_meta(self) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(META_SCHEMA, PG)}")
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE} ("
            "table_name text PRIMARY KEY, dest_table text NOT NULL, "
            "delta_version bigint NOT NULL, columns text NOT NULL, rows bigint NOT NULL, "
            "synced_at timestamptz NOT NULL, seconds double precision NOT NULL)"
        )

    def states(self) -> dict[str, State]:
        rows = self.execute(
            f"SELECT table_name, dest_table, delta_version, columns, rows, synced_at FROM {STATE}"
        )
        return {r[0]: State(*r) for r in rows}

    def state_rows(self) -> list[dict[str, Any]]:
        """Every row of ``lakeshop_sync.state`` (``synced_at`` in UTC, ``seconds`` taken)."""
        names = ["table_name", "dest_table", "delta_version", "rows", "synced_at", "seconds"]
        found = self.execute(f"SELECT {columns(names, dialect=PG)} FROM {STATE}")
        return [dict(zip(names, r, strict=True)) for r in found]

    def record_state(self, state: State, seconds: float) -> None:
        """Upsert the table's state (inside the transaction that applies its change)."""
        self.execute(
            f"INSERT INTO {STATE} AS s VALUES (%s, %s, %s, %s, %s, now(), %s) "
            "ON CONFLICT (table_name) DO UPDATE SET dest_table = excluded.dest_table, "
            "delta_version = excluded.delta_version, columns = excluded.columns, "
            "rows = excluded.rows, synced_at = excluded.synced_at, seconds = excluded.seconds",
            [state.table_name, state.dest_table, state.version, state.columns, state.rows, seconds],
        )

    def forget_state(self, table_name: str) -> None:
        self.execute(f"DELETE FROM {STATE} WHERE table_name = %s", [table_name])

    # --- tables --------------------------------------------------------------------------

    def exists(self, schema: str, name: str) -> bool:
        rows = self.execute("SELECT to_regclass(%s) IS NOT NULL", [table(schema, name, dialect=PG)])
        return bool(rows[0][0])

    def create_table(
        self, schema: str, name: str, cols: list[PgColumn], *, unlogged: bool = False
    ) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema, PG)}")
        body = ", ".join(c.definition() for c in cols)
        kind = "UNLOGGED TABLE" if unlogged else "TABLE"
        self.execute(f"CREATE {kind} {table(schema, name, dialect=PG)} ({body})")

    def create_temp(self, name: str, cols: list[PgColumn]) -> None:
        """A temporary table dropped when the transaction ends (commit, rollback or a kill)."""
        body = ", ".join(c.definition() for c in cols)
        self.execute(f"CREATE TEMP TABLE {ident(name, PG)} ({body}) ON COMMIT DROP")

    def drop_table(self, schema: str, name: str, *, cascade: bool = False) -> None:
        """Drop the table if it is there (``cascade``: with the views and keys on it)."""
        how = " CASCADE" if cascade else ""
        self.execute(f"DROP TABLE IF EXISTS {table(schema, name, dialect=PG)}{how}")

    def add_columns(self, schema: str, name: str, cols: list[PgColumn]) -> None:
        target = table(schema, name, dialect=PG)
        for c in cols:
            self.execute(f"ALTER TABLE {target} ADD COLUMN {c.definition()}")

    def copy(
        self,
        schema: str,
        name: str,
        cols: list[PgColumn],
        batches: Iterable[pa.RecordBatch],
        checksum: ArrowChecksum | None = None,
        *,
        freeze: bool = False,
    ) -> int:
        """COPY the batches into the table; rows sent. The CSV is rendered by Arrow in a thread
        of its own (:mod:`~lakeshop.app.sync.stream`) while PostgreSQL parses what came before.
        ``freeze``: the table was created or truncated in this transaction, so its rows are
        written frozen (no later pass sets their hint bits: the checks that follow read less)."""
        names = [c.name for c in cols]
        # the first batch says whether every column has a binary form (else CSV)
        stream = iter(batches)
        first = next(stream, None)
        binary = first is not None and pgbinary.supports(first.select(names).schema)
        if first is not None:
            stream = itertools.chain([first], stream)
        options = "FORMAT binary" if binary else "FORMAT csv"
        if freeze:
            options += ", FREEZE"
        sql = (
            f"COPY {table(schema, name, dialect=PG)} ({columns(names, dialect=PG)}) "
            f"FROM STDIN ({options})"
        )
        seen = checksum.add if checksum is not None else None
        render = binary_chunks if binary else csv_chunks
        sent = 0
        with (
            self.errors(f"COPY into {schema}.{name}"),
            self.conn.cursor() as cur,
            cur.copy(sql.encode()) as copy,
        ):
            for chunk, rows in ahead(render(stream, names, seen)):
                copy.write(chunk)
                sent += rows
        return sent

    def checksum(self, schema: str, name: str, cols: list[PgColumn], where: str = "") -> list[Any]:
        """The checksum (see pgtypes) of the table's rows, or of those ``where`` selects."""
        sql = f"SELECT {pg_checksum_select(cols)} FROM {table(schema, name, dialect=PG)} {where}"
        return list(self.execute(sql)[0])

    def column_names(self, schema: str, name: str) -> list[str]:
        """The table's columns, in order (empty when it is not there)."""
        rows = self.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [table(schema, name, dialect=PG)],
        )
        return [r[0] for r in rows]

    def primary_key(self, schema: str, name: str) -> list[str]:
        """The columns of the table's primary key (empty: none)."""
        rows = self.execute(
            "SELECT a.attname FROM pg_constraint AS c CROSS JOIN unnest(c.conkey) "
            "WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute AS a ON a.attrelid = c.conrelid "
            "AND a.attnum = k.attnum WHERE c.contype = 'p' AND c.conrelid = to_regclass(%s) "
            "ORDER BY k.n",
            [table(schema, name, dialect=PG)],
        )
        return [r[0] for r in rows]

    def drop_primary_key(self, schema: str, name: str) -> None:
        """Drop the table's primary key (its rows no longer allow it)."""
        target = table(schema, name, dialect=PG)
        rows = self.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'p' AND conrelid = to_regclass(%s)",
            [target],
        )
        for (constraint,) in rows:
            self.execute(f"ALTER TABLE {target} DROP CONSTRAINT {ident(constraint, PG)} CASCADE")

    def count(self, schema: str, name: str) -> int:
        return int(self.execute(f"SELECT count(*) FROM {table(schema, name, dialect=PG)}")[0][0])


def short_name(name: str) -> str:
    """A PostgreSQL name of at most 63 bytes (longer ones end in a hash of the whole)."""
    if len(name.encode()) <= 63:
        return name
    import hashlib

    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return name.encode()[:52].decode(errors="ignore") + "_" + digest

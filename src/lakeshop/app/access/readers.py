"""Governed readers kept between requests: a server's queries bind nothing they bound before.

Opening a DuckDB connection, restricting it, and binding each table's snapshot with its masks
and row filters costs more than most of a dashboard's queries. :class:`Readers` keeps, per
*governance* (a role and the user's attributes: what decides the masked expressions and the
row filters), one restricted DuckDB database holding that governance's views, and hands each
query a cursor of it (DuckDB's own connection to the same database, one per thread).

The guarantees of a fresh reader per request are kept:

- **Committed snapshots only.** A table is bound at the Delta version current when a query
  needs it; before each query, the version of every table it reads (through declared views
  too) is read again (a ``stat`` of the table's log) and a table committed to since is bound
  again, so a query sees every commit made before it started. A query already running keeps
  the views it started with; replacing a view never blocks it, nor it the replacement.
- **No lock against a run.** Binding reads the Delta log and lists Parquet files; nothing is
  held on the lakehouse between queries.
- **One governance per database.** The views of one role (and attribute values) are never in
  another's database: a query can only name the tables of its own. The hidden names of the raw
  snapshots are random per database, as before.

At most ``capacity`` databases are kept (the least recently used is closed once its queries
end), and a database is dropped when the lakehouse gains a schema folder (its reads are
restricted to the folders there were when it opened).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakeshop.app.reader import open_reader
from lakeshop.pipeline.model import Kind

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.access.policy import Principal
    from lakeshop.app.project import Project
    from lakeshop.engines.base import Engine

#: the lakehouse's table list is listed again after this long (and at once when a query
#: names a table it lacks)
TABLES_SECONDS = 2.0


@dataclass
class _Database:
    """One governance's restricted DuckDB database and what is bound in it."""

    engine: Engine
    folders: frozenset[str]
    #: random per database: the schema of the raw snapshots under the governed views
    hidden: str = field(default_factory=lambda: "raw_" + secrets.token_hex(8))
    #: table -> the snapshot it is bound at (a Delta version; a view: its tables')
    bound: dict[str, Hashable] = field(default_factory=dict)
    users: int = 0
    retired: bool = False


class Readers:
    """Governed DuckDB databases of one project's target, shared by a server's requests.

    Pass it to :class:`~lakeshop.app.access.govern.GovernedSession` (``readers=``); the
    session's queries then run on a cursor of its principal's database. The views bound follow
    the sessions' policy: give one ``Readers`` to the sessions of one policy (a server's).
    """

    def __init__(self, project: Project, target: str | None = None, capacity: int = 8) -> None:
        self.project = project
        self.target = target
        self.capacity = capacity
        self._databases: OrderedDict[Hashable, _Database] = OrderedDict()
        #: one lock for binding and for the lakehouse's opened snapshots (not thread-safe)
        self._lock = threading.Lock()
        #: when listed, the names, and the schema folders they are in
        self._tables: tuple[float, frozenset[str], frozenset[str]] | None = None

    # -- what the lakehouse holds -------------------------------------------------------

    def tables(self, *, fresh: bool = False) -> frozenset[str]:
        """The lakehouse's tables and the project's declared views, listed at most every
        :data:`TABLES_SECONDS` (``fresh``: now)."""
        return self._listed(fresh)[1]

    def _listed(self, fresh: bool = False) -> tuple[float, frozenset[str], frozenset[str]]:
        with self._lock:
            now = time.monotonic()
            if fresh or self._tables is None or now - self._tables[0] > TABLES_SECONDS:
                views = {n for n, t in self.project.graph.tables.items() if t.kind is Kind.VIEW}
                lakehouse = self.project.lakehouse(self.target)
                listed = lakehouse.tables()
                folders = frozenset(str(lakehouse.path(n).parent) for n in listed)
                self._tables = (now, frozenset(listed) | views, folders)
            return self._tables

    # -- running ------------------------------------------------------------------------

    def fetch(
        self,
        principal: Principal,
        tables: Sequence[str],
        bind: Callable[[Engine, str, str], None],
        run: Callable[[Engine], pa.Table],
    ) -> pa.Table:
        """``run(cursor)`` on a cursor of ``principal``'s governance's database, once each of
        ``tables`` (a checked query's, upstream first) is bound at its latest committed
        snapshot: ``bind(engine, table, hidden)`` binds a table's governed view over its raw
        snapshot, named in schema ``hidden``."""
        database = self._acquire(principal)
        try:
            with self._lock:
                self._refresh(database, tables, bind)
                cursor = database.engine.cursor()
            try:
                return run(cursor)
            finally:
                cursor.close()
        finally:
            self._release(database)

    def close(self) -> None:
        """Close every database (each once its running queries end)."""
        with self._lock:
            for key in list(self._databases):
                self._retire(key)

    def _refresh(
        self, database: _Database, tables: Sequence[str], bind: Callable[[Engine, str, str], None]
    ) -> None:
        """Bind each of ``tables`` whose snapshot changed since it was bound (the upstream
        ones first: a view is bound over the governed tables under it)."""
        lakehouse = self.project.lakehouse(self.target)
        graph = self.project.graph
        current: dict[str, Hashable] = {}
        for name in tables:  # upstream first
            declared = graph.tables.get(name)
            if declared is not None and declared.kind is Kind.VIEW:
                current[name] = tuple(current.get(u) for u in sorted(graph.upstream[name]))
            else:
                # read before binding: a commit in between is bound now and seen as new
                # next time (rebound once more), never missed
                current[name] = lakehouse.version(name)
            if database.bound.get(name) != current[name]:
                database.bound.pop(name, None)  # a failed bind is tried again next time
                bind(database.engine, name, database.hidden)
                database.bound[name] = current[name]

    # -- the databases --------------------------------------------------------------------

    def _acquire(self, principal: Principal) -> _Database:
        key = (principal.role, tuple(sorted((k, repr(v)) for k, v in principal.attributes.items())))
        folders = self._listed()[2]
        with self._lock:
            database = self._databases.get(key)
            if database is not None and not folders <= database.folders:
                self._retire(key)  # a new schema folder: the restriction must name it
                database = None
            if database is None:
                database = _Database(open_reader(self.project, self.target, "duckdb"), folders)
                self._databases[key] = database
                while len(self._databases) > self.capacity:
                    self._retire(next(iter(self._databases)))
            self._databases.move_to_end(key)
            database.users += 1
            return database

    def _release(self, database: _Database) -> None:
        with self._lock:
            database.users -= 1
            if database.retired and database.users == 0:
                database.engine.close()

    def _retire(self, key: Hashable) -> None:
        """Drop ``key``'s database from the cache; closed now or by its last query."""
        database = self._databases.pop(key)
        database.retired = True
        if database.users == 0:
            database.engine.close()

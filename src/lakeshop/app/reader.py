"""The read path every second person reaches (``lakeshop sql``, saved queries, the report,
alert rules): one checked SELECT over lakehouse tables, on an engine restricted to reading.

Readers take no lock and see the tables' committed snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

import pyarrow as pa

from lakeshop.app.project import EngineName, Project
from lakeshop.app.sandbox import check_query
from lakeshop.core.errors import LakeshopError
from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.snapshots import version_at
from lakeshop.pipeline.model import Kind

#: the engine of the innermost :func:`reading` block, by (project folder, target)
_READER: ContextVar[tuple[tuple[str, str | None], Engine] | None] = ContextVar(
    "lakeshop_reader", default=None
)


@contextmanager
def reading(project: Project, target: str | None = None) -> Iterator[None]:
    """Let every :func:`query` on ``target`` inside the block share one engine.

    A run's alert rules, a report's charts: many small queries, for which opening an engine
    (and its Delta tables) each time would cost more than the queries.
    """
    key = (str(project.directory), target)
    with open_reader(project, target) as engine:
        token = _READER.set((key, engine))
        try:
            yield
        finally:
            _READER.reset(token)


def query(
    project: Project,
    sql: str,
    target: str | None = None,
    *,
    shape: str | None = None,
    as_of: datetime | None = None,
    version: int | None = None,
) -> pa.Table:
    """Run a read-only query: one SELECT over ``schema.table`` names (declared views included).

    Anything else is refused before an engine opens (see :mod:`lakeshop.app.sandbox`), and
    the engine runs it restricted to reading (:meth:`Engine.restrict_to_reading`). Takes no
    lock: a query sees the tables' committed snapshots.

    ``shape``: the text ``sql`` was rendered from, as some callers pass it; unused, as the
    tables read are found from ``sql`` itself (what runs is what is checked).

    Time travel: with ``as_of`` (a naive time is UTC), every table is read at its Delta
    version current then; with ``version``, the one table the query reads is read at that
    Delta version. Either reaches back as far as ``lakeshop maintain``'s retention.
    """
    lakehouse = project.lakehouse(target)
    views = {n: t for n, t in project.graph.tables.items() if t.kind is Kind.VIEW}
    reads = check_query(sql, set(lakehouse.tables()) | set(views))
    if as_of is not None or version is not None:
        past = lakehouse.at(_pinned(project, reads, lakehouse, as_of, version))
        with open_reader(project, target, lakehouse=past) as engine:
            return _fetch(project, sql, reads, engine)
    shared = _READER.get()
    if shared is not None and shared[0] == (str(project.directory), target):
        return _fetch(project, sql, reads, shared[1])
    with open_reader(project, target) as engine:
        return _fetch(project, sql, reads, engine)


def _pinned(
    project: Project,
    reads: set[str],
    lakehouse: Lakehouse,
    as_of: datetime | None,
    version: int | None,
) -> dict[str, int]:
    """The Delta version to read of each stored table ``reads`` reaches (through views)."""
    if as_of is not None and version is not None:
        raise LakeshopError("time travel: give --as-of or --version, not both")
    stored: set[str] = set()
    pending = list(reads)
    while pending:
        name = pending.pop()
        declared = project.graph.tables.get(name)
        if declared is not None and declared.kind is Kind.VIEW:
            pending.extend(project.graph.upstream[name])
        else:
            stored.add(name)
    if version is not None:
        if len(stored) != 1:
            raise LakeshopError(
                f"--version {version}: a Delta version is one table's, and this query reads "
                f"{len(stored)} ({', '.join(sorted(stored))}); use --as-of TIMESTAMP for several"
            )
        (name,) = stored
        latest = lakehouse.version(name)
        if latest is None or not 0 <= version <= latest:
            raise LakeshopError(
                f"--version {version}: {name} has versions 0 to {latest} "
                "(older ones may have been cleaned up by lakeshop maintain)"
            )
        return {name: version}
    assert as_of is not None
    pins: dict[str, int] = {}
    for name in sorted(stored):
        found = version_at(lakehouse, name, as_of)
        if found is None:
            raise LakeshopError(
                f"--as-of {as_of.isoformat()}: {name} had no commit by then "
                "(or its log from then was cleaned up by lakeshop maintain)"
            )
        pins[name] = found
    return pins


def open_reader(
    project: Project,
    target: str | None = None,
    engine_name: EngineName | None = None,
    lakehouse: Lakehouse | None = None,
) -> Engine:
    """The target's engine (or ``engine_name``; on ``lakehouse``, a pinned past one, when
    given), restricted to reading: close it after use."""
    engine = project.engine(target, engine_name, lakehouse=lakehouse)
    try:
        engine.restrict_to_reading()
    except BaseException:
        engine.close()
        raise
    return engine


def _fetch(project: Project, sql: str, reads: set[str], engine: Engine) -> pa.Table:
    """Bind the tables ``sql`` reads (views with the tables under them), then run it."""
    pending = sorted(reads)
    needed: set[str] = set()
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        declared = project.graph.tables.get(name)
        if declared is not None and declared.kind is Kind.VIEW:
            pending.extend(project.graph.upstream[name])
    # tables first, then views parents first: DuckDB resolves a view when it is created
    graph = project.graph
    views = [n for n in graph.order() if n in needed and graph.tables[n].kind is Kind.VIEW]
    for name in sorted(needed - set(views)):
        engine.bind_table(name)
    for name in views:
        engine.bind_view(name, graph.tables[name].sql)
    return engine.fetch(sql)

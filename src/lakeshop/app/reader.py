"""The read path every second person reaches (``lakeshop sql``, saved queries, the report,
alert rules): one checked SELECT over lakehouse tables, on an engine restricted to reading.

Readers take no lock and see the tables' committed snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pyarrow as pa

from lakeshop.app.project import EngineName, Project
from lakeshop.app.sandbox import check_query
from lakeshop.engines.base import Engine
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
    project: Project, sql: str, target: str | None = None, *, shape: str | None = None
) -> pa.Table:
    """Run a read-only query: one SELECT over ``schema.table`` names (declared views included).

    Anything else is refused before an engine opens (see :mod:`lakeshop.app.sandbox`), and
    the engine runs it restricted to reading (:meth:`Engine.restrict_to_reading`). Takes no
    lock: a query sees the tables' committed snapshots.

    ``shape``: the text ``sql`` was rendered from, as some callers pass it; unused, as the
    tables read are found from ``sql`` itself (what runs is what is checked).
    """
    lakehouse = project.lakehouse(target)
    views = {n: t for n, t in project.graph.tables.items() if t.kind is Kind.VIEW}
    reads = check_query(sql, set(lakehouse.tables()) | set(views))
    shared = _READER.get()
    if shared is not None and shared[0] == (str(project.directory), target):
        return _fetch(project, sql, reads, shared[1])
    with open_reader(project, target) as engine:
        return _fetch(project, sql, reads, engine)


def open_reader(
    project: Project, target: str | None = None, engine_name: EngineName | None = None
) -> Engine:
    """The target's engine (or ``engine_name``), restricted to reading: close it after use."""
    engine = project.engine(target, engine_name)
    try:
        engine.restrict_to_reading()
    except BaseException:
        engine.close()
        raise
    return engine


def _fetch(project: Project, sql: str, reads: set[str], engine: Engine) -> pa.Table:
    """Bind the tables ``sql`` reads (views with the tables under them), then run it."""
    pending = sorted(reads)
    bound: set[str] = set()
    while pending:
        name = pending.pop()
        if name in bound:
            continue
        bound.add(name)
        declared = project.graph.tables.get(name)
        if declared is not None and declared.kind is Kind.VIEW:
            pending.extend(project.graph.upstream[name])
            engine.bind_view(name, declared.sql)
        else:
            engine.bind_table(name)
    return engine.fetch(sql)

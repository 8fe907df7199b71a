"""Saved analytics queries over gold: list them, and run one as of a business date.

The queries live in ``lakeshop/retail/queries/*.sql``. A windowed query reads the parameter
``$as_of``; :mod:`lakeshop.core.sqltext` replaces it by a ``DATE 'YYYY-MM-DD'`` literal
rendered from a validated ``date`` (never from user text), then the SQL goes through
:func:`lakeshop.app.api.query`, which binds the tables it references.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from lakeshop.core.errors import LakeshopError
from lakeshop.retail.queries import SavedQuery, load

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.project import Project

__all__ = [
    "SavedQuery",
    "UnknownQuery",
    "default_as_of",
    "reads_runs",
    "render",
    "run_saved",
    "saved_queries",
    "saved_query",
]

LATEST_SQL = "SELECT max(order_date) AS as_of FROM gold.fact_sales"
#: the as_of of queries over the run log: the day the newest run started (UTC)
LATEST_RUN_SQL = "SELECT CAST(max(started_at) AS DATE) AS as_of FROM _system.runs"


class UnknownQuery(LakeshopError):
    """No saved query has this name."""

    exit_code = 2

    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"no saved query '{name}'; known queries: {', '.join(known)}")


def saved_queries() -> list[SavedQuery]:
    """Every saved query, by name."""
    return load()


def saved_query(name: str) -> SavedQuery:
    """The saved query called ``name``, or :class:`UnknownQuery` naming the known ones."""
    queries = saved_queries()
    for q in queries:
        if q.name == name:
            return q
    raise UnknownQuery(name, [q.name for q in queries])


def reads_runs(query: SavedQuery) -> bool:
    """Whether the query reads the run log (``_system.*``) rather than gold."""
    from lakeshop.pipeline.graph import referenced_tables

    return any(t.startswith("_system.") for t in referenced_tables(query.sql.replace("$", "")))


def default_as_of(
    project: Project, target: str | None = None, query: SavedQuery | None = None
) -> date:
    """The latest business date of the data: the latest ``order_date`` in ``gold.fact_sales``;
    for a ``query`` over the run log, the day its newest run started."""
    from lakeshop.app import reader

    if query is not None and reads_runs(query):
        value = reader.query(project, LATEST_RUN_SQL, target).column(0)[0].as_py()
        if not isinstance(value, date):
            raise LakeshopError(
                f"{query.name}: no run recorded yet, so there is no default as_of: run "
                "`lakeshop run` first or pass --as-of YYYY-MM-DD"
            )
        return value
    value = reader.query(project, LATEST_SQL, target).column(0)[0].as_py()
    if not isinstance(value, date):
        raise LakeshopError(
            "gold.fact_sales has no sales, so there is no default as_of: run `lakeshop run` "
            "first or pass --as-of YYYY-MM-DD"
        )
    return value


def render(query: SavedQuery, as_of: date) -> str:
    """The query's SQL with ``$as_of`` replaced by the literal ``DATE 'YYYY-MM-DD'``."""
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    day = date(as_of.year, as_of.month, as_of.day)  # a datetime counts by its day
    # a query without a window reads no $as_of
    return query.template.render(as_of=day, unused="ignore")


def run_saved(
    project: Project, name: str, as_of: date | None = None, target: str | None = None
) -> pa.Table:
    """Run the saved query ``name``; ``as_of`` defaults to :func:`default_as_of`."""
    from lakeshop.app import reader

    query = saved_query(name)
    if as_of is None and query.uses_as_of:
        as_of = default_as_of(project, target, query)
    sql = render(query, as_of) if as_of is not None else query.sql
    return reader.query(project, sql, target, shape=query.sql)

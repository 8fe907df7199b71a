"""The query API: ``POST /api/sql`` (one read-only statement) and ``GET /api/query/{name}``
(a saved query), both run as the request's principal through
:class:`~lakeshop.app.access.govern.GovernedSession`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from lakeshop.app import analytics
from lakeshop.core.errors import LakeshopError
from lakeshop.serve.auth import Authenticated, audit_of, context
from lakeshop.serve.formats import Format, answer, choose

router = APIRouter(prefix="/api")

Scalar = str | int | float | bool | None


class SqlRequest(BaseModel):
    sql: str = Field(max_length=100_000)
    #: values of the statement's ``$name`` parameters (put in as literals)
    params: dict[str, Scalar] = {}
    format: Format | None = None


@router.post("/sql")
def sql(body: SqlRequest, request: Request, who: Authenticated) -> Response:
    """Run one read-only statement as the caller: JSON, Arrow IPC or CSV (``format`` or
    the Accept header)."""
    record = audit_of(request)
    record.action, record.statement = "sql", body.sql
    session = context(request).session(who)
    plan = session.plan(body.sql, body.params)
    record.object = ",".join(g.table for g in plan.tables if g.grant is not None)
    table = session.query(body.sql, body.params)
    record.rows = table.num_rows
    return answer(table, choose(body.format, request.headers.get("accept")), "query")


@router.get("/query/{name}")
def saved(
    name: str,
    request: Request,
    who: Authenticated,
    as_of: Annotated[date | None, Query(description="Business date (default: the latest).")] = None,
    format: Annotated[Format | None, Query()] = None,
) -> Response:
    """Run the saved query ``name`` as the caller, as of ``as_of``."""
    record = audit_of(request)
    record.action, record.object = "saved_query", name
    try:
        query = analytics.saved_query(name)
    except analytics.UnknownQuery as exc:
        raise HTTPException(404, str(exc)) from None
    session = context(request).session(who)
    if as_of is None and query.uses_as_of:
        latest = analytics.LATEST_RUN_SQL if analytics.reads_runs(query) else analytics.LATEST_SQL
        value = session.query(latest).column(0)[0].as_py()
        if not isinstance(value, date):
            raise LakeshopError(f"{name}: no data yet to take a default as_of from; pass as_of")
        as_of = value
    text = analytics.render(query, as_of) if as_of is not None else query.sql
    record.statement = text
    table = session.query(text)
    record.rows = table.num_rows
    return answer(table, choose(format, request.headers.get("accept")), name)


@router.get("/queries")
def queries(request: Request, who: Authenticated) -> list[dict[str, Any]]:
    """The saved queries (name, description, whether it takes ``as_of``)."""
    audit_of(request).action = "queries"
    return [
        {"name": q.name, "description": q.description, "as_of": q.uses_as_of}
        for q in analytics.saved_queries()
    ]

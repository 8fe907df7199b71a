"""The FastAPI application of ``lakeshop serve``: routers, errors as HTTP statuses, and one
audit row per request.

:func:`create_app` is where routes are mounted: add a router to :data:`ROUTERS` (or call
``app.include_router`` on the returned app). A route reads as the caller with
``context(request).session(who).query(sql, params)`` (see :mod:`lakeshop.serve.auth`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lakeshop.app.access.audit import AccessEvent, AuditLog, scrub
from lakeshop.app.access.govern import AccessDenied, QueryTimeout
from lakeshop.app.access.load import load_policy
from lakeshop.app.access.policy import Policy
from lakeshop.app.access.tokens import TokenStore
from lakeshop.core.errors import LakeshopError, QueryRefused, TableNotFound, first_line
from lakeshop.serve import api, auth, catalog, dashboards, pages
from lakeshop.serve.context import RequestAudit, ServeContext

if TYPE_CHECKING:
    from lakeshop.app.project import Project

log = logging.getLogger(__name__)

#: the routers mounted by :func:`create_app`, in order
ROUTERS: list[APIRouter] = [
    auth.router,
    api.router,
    catalog.router,
    dashboards.router,
    pages.router,
]

#: HTTP status and audit status of each error lakeshop raises on purpose
_ERRORS: list[tuple[type[LakeshopError], int, str]] = [
    (AccessDenied, 403, "denied"),
    (QueryRefused, 400, "refused"),
    (TableNotFound, 404, "not_found"),
    (QueryTimeout, 504, "timeout"),
]
_STATUS = {401: "unauthenticated", 403: "denied", 404: "not_found", 422: "invalid"}
#: quoted values in an engine's error message (a failed cast names the value)
_QUOTED = re.compile(r"'[^']*'")


def create_app(
    project: Project,
    *,
    target: str | None = None,
    policy: Policy | None = None,
    audit: AuditLog | None = None,
) -> FastAPI:
    """The application serving ``project``'s ``target`` under its ``access.yml``."""
    policy = policy or load_policy(project.directory)
    audit = audit or AuditLog(project.lakehouse(target))
    ctx = ServeContext(project, policy, TokenStore(project.directory), audit, target)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.audit.close()  # the rows still buffered are written on shutdown
        ctx.readers.close()

    app = FastAPI(title="lakeshop", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    for router in ROUTERS:
        app.include_router(router)
    app.middleware("http")(_audited)
    app.exception_handler(LakeshopError)(_lakeshop_error)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_invalid)
    return app


async def _audited(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Write one audit row for the request, whatever its outcome."""
    record = RequestAudit(object=request.url.path)
    request.state.audit = record
    start = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception as exc:  # an unexpected error: audited, then a plain 500
        log.exception("request failed: %s", request.url.path)
        record.error, record.status = f"internal error ({type(exc).__name__})", "error"
        response = JSONResponse({"error": "internal error"}, status_code=500)
    code = response.status_code
    status = record.status or ("ok" if code < 400 else _STATUS.get(code, "error"))
    ctx: ServeContext = request.app.state.ctx
    ctx.audit.record(
        AccessEvent(
            user_name=record.user,
            role=record.role,
            action=record.action,
            object=record.object,
            status=status,
            http_status=code,
            statement=record.statement,
            rows=record.rows,
            error=record.error,
            duration_ms=round((time.perf_counter() - start) * 1000, 3),
            client_address=request.client.host if request.client else None,
        )
    )
    return response


def _error(request: Request, code: int, status: str, message: str) -> JSONResponse:
    message = scrub(message) or ""
    record: RequestAudit | None = getattr(request.state, "audit", None)
    if record is not None:
        record.status, record.error = status, message
    return JSONResponse({"error": message, "status": status}, status_code=code)


async def _lakeshop_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, code, status in _ERRORS:
        if isinstance(exc, kind):
            return _error(request, code, status, str(exc))
    # an engine's error: its first line, without the values it quotes (a failed cast names
    # a value, maybe of a row the caller's filters hide)
    return _error(request, 400, "error", _QUOTED.sub("'…'", first_line(exc)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = exc.status_code
    return _error(request, code, _STATUS.get(code, "error"), str(exc.detail))


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return _error(request, 422, "invalid", f"{where}: {first.get('msg', 'invalid request')}")

"""The dashboards' API: ``GET /api/dashboards`` (the pages), ``GET /api/dashboards/{name}``
(a page: its filters with their choices, its tiles and whether the caller's role may read
each), ``GET /api/dashboards/{name}/tiles/{tile}`` (a tile's rows as JSON, or CSV with a
``.csv`` suffix), each query run through the caller's
:class:`~lakeshop.app.access.govern.GovernedSession` (grants, masks, row filters apply).

A tile over tables the role may not read answers 403 and is listed with ``allowed: false``
(the page shows it withheld, never an error page).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from lakeshop.app.access.govern import AccessDenied, GovernedSession
from lakeshop.app.dashboards.load import load_dashboards
from lakeshop.app.dashboards.model import Dashboard, Filter, parameters, tile_sql
from lakeshop.core.errors import LakeshopError
from lakeshop.serve.auth import Authenticated, audit_of, context
from lakeshop.serve.formats import answer

router = APIRouter(prefix="/api/dashboards")


def dashboards(request: Request) -> dict[str, Dashboard]:
    """The served project's dashboards (re-read when its ``dashboards/`` folder changes)."""
    directory = context(request).project.directory
    return _cached(directory, _stamp(directory / "dashboards"))


def _stamp(folder: Path) -> tuple[tuple[str, int], ...]:
    """The folder's files and their modified times (a new stamp re-reads them)."""
    if not folder.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yml")))


@functools.lru_cache(maxsize=8)
def _cached(directory: Path, _stamp: tuple[tuple[str, int], ...]) -> dict[str, Dashboard]:
    return load_dashboards(directory)


def page(request: Request, name: str) -> Dashboard:
    found = dashboards(request).get(name)
    if found is None:
        raise HTTPException(404, f"no dashboard '{name}' (known: {', '.join(dashboards(request))})")
    return found


@router.get("")
def listing(request: Request, who: Authenticated) -> list[dict[str, Any]]:
    """The dashboards: name, title, description, kind, in navigation order."""
    audit_of(request).action = "dashboards"
    return [
        {"name": n, "title": d.title, "description": d.description, "kind": d.kind}
        for n, d in dashboards(request).items()
    ]


@router.get("/{name}")
def describe(name: str, request: Request, who: Authenticated) -> dict[str, Any]:
    """A page: its filters (choices and date bounds as the caller sees them) and tiles."""
    record = audit_of(request)
    record.action, record.object = "dashboard", name
    board = page(request, name)
    session = context(request).session(who)
    unset = parameters(board, {})
    tiles = []
    for tile in board.tiles:
        allowed, reason = True, None
        try:
            session.plan(tile_sql(tile, unset))
        except AccessDenied as exc:
            allowed, reason = False, f"withheld: {exc}"
        tiles.append(
            {
                **tile.model_dump(exclude={"sql"}),
                "allowed": allowed,
                "reason": reason,
                "link": f"/api/dashboards/{name}/tiles/{tile.id}",
            }
        )
    return {
        "name": name,
        "title": board.title,
        "description": board.description,
        "kind": board.kind,
        "filters": [_filter(session, f) for f in board.filters],
        "tiles": tiles,
    }


def _filter(session: GovernedSession, f: Filter) -> dict[str, Any]:
    """A filter with its choices (or date bounds) read as the caller; none when refused."""
    entry: dict[str, Any] = {"name": f.name, "kind": f.kind, "label": f.label or f.name}
    entry["parameters"] = list(f.parameters)
    try:
        if f.kind == "choice":
            assert f.options is not None
            values = session.query(f.options).column(0).to_pylist()
            entry["options"] = [str(v) for v in values if v is not None]
        else:
            assert f.bounds is not None
            row = session.query(f.bounds).to_pylist()[0]
            low, high = [*row.values(), None, None][:2]
            if isinstance(low, date) and isinstance(high, date):
                start = max(low, high - timedelta(days=f.default_days)) if f.default_days else low
                entry["bounds"] = [low.isoformat(), high.isoformat()]
                entry["default"] = [start.isoformat(), high.isoformat()]
    except LakeshopError as exc:  # refused or failed: the filter is shown without choices
        entry["note"] = str(exc).splitlines()[0]
    return entry


@router.get("/{name}/tiles/{tile}")
def tile(name: str, tile: str, request: Request, who: Authenticated) -> Response:
    """A tile's rows for the filters in the query string (``date_from``, ``date_to``, and a
    choice filter by its name): JSON, or CSV (formula-injection-safe) when ``tile`` ends in
    ``.csv``."""
    record = audit_of(request)
    tile_id, csv = (tile[:-4], True) if tile.endswith(".csv") else (tile, False)
    record.action = "dashboard_csv" if csv else "dashboard_tile"
    record.object = f"{name}/{tile_id}"
    board = page(request, name)
    found = board.tile(tile_id)
    if found is None:
        raise HTTPException(404, f"dashboard '{name}' has no tile '{tile_id}'")
    try:
        values = parameters(board, dict(request.query_params))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    sql = tile_sql(found, values)
    record.statement = sql
    table = context(request).session(who).query(sql)
    record.rows = table.num_rows
    return answer(table, "csv" if csv else "json", f"{name}-{tile_id}")

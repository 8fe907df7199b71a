"""The browser's pages: ``GET /`` (to the first dashboard, or the login page),
``GET /login``, ``GET /dashboards/{name}`` (a server-rendered shell; ``static/dashboard.js``
fills it from the dashboards' API), and ``/static/…`` (the page's script and style, and
plotly.js from the installed plotly package: no CDN, long-cached).

Every answer carries a strict Content-Security-Policy: scripts, styles, data only from the
server itself, no inline script, no framing.
"""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from lakeshop.observe.report.plotlyjs import (
    plotly_css,
    plotly_js,
    plotly_sheet_ids,
    plotly_version,
)
from lakeshop.serve.auth import audit_of, principal
from lakeshop.serve.dashboards import dashboards, page

router = APIRouter()

STATIC = Path(__file__).with_name("static")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: a static file's URL carries its version, so it can be cached for a year
_LONG = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def secure_headers(response: Response) -> Response:
    """The headers every page and static file gets (CSP, no sniffing, no referrer)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _signed_in(request: Request) -> bool:
    try:
        principal(request)
    except HTTPException:
        return False
    return True


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    """The first dashboard, or the login page when the browser has no session."""
    audit_of(request).action = "home"
    if not _signed_in(request):
        return secure_headers(RedirectResponse("/login", status_code=303))
    first = next(iter(dashboards(request)), None)
    target = f"/dashboards/{quote(first)}" if first else "/login"
    return secure_headers(RedirectResponse(target, status_code=303))


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    """The login form (user name and token); it posts to ``/login``."""
    audit_of(request).action = "login_page"
    body = (
        '<main class="login"><h1>lakeshop</h1>'
        '<form id="login"><label>User <input name="user" autocomplete="username" required>'
        '</label><label>Token <input name="token" type="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit">Log in</button><p id="login-error" role="alert"></p></form>'
        '<p class="hint">A token: <code>lakeshop access token create USER</code></p></main>'
    )
    return _html("log in", body, {"page": "login"})


@router.get("/dashboards/{name}", include_in_schema=False)
def dashboard_page(name: str, request: Request) -> Response:
    """A dashboard's page: navigation, filters, one box per tile (filled by the script)."""
    record = audit_of(request)
    record.action, record.object = "dashboard_page", name
    if not _signed_in(request):
        return secure_headers(RedirectResponse(f"/login?next=/dashboards/{quote(name)}", 303))
    board = page(request, name)
    nav = "".join(
        f'<a href="/dashboards/{quote(n)}"{" aria-current=page" if n == name else ""}>'
        f"{escape(d.title)}</a>"
        for n, d in dashboards(request).items()
    )
    tiles = "".join(
        f'<section class="tile w{t.width} {t.chart}" id="tile-{t.id}" data-tile="{t.id}" '
        f'data-state="loading"><header><h2>{escape(t.title)}</h2>'
        f'<a class="csv" download href="#">CSV</a></header>'
        f'<p class="note">{escape(t.description or "")}</p><div class="body"></div></section>'
        for t in board.tiles
    )
    catalog = (
        '<section id="catalog" data-state="loading"></section>' if board.kind == "catalog" else ""
    )
    body = (
        f'<header class="top"><strong>lakeshop</strong><nav>{nav}</nav>'
        '<span id="who"></span><button id="logout" type="button">Log out</button></header>'
        f"<main><h1>{escape(board.title)}</h1>"
        f'<p class="lead">{escape(board.description or "")}</p>'
        f'<form id="filters" data-state="loading"></form>{catalog}'
        f'<div class="grid">{tiles}</div></main>'
    )
    return _html(board.title, body, {"page": "dashboard", "dashboard": name})


def _html(title: str, body: str, data: dict[str, Any]) -> Response:
    attributes = " ".join(f'data-{k}="{escape(v)}"' for k, v in data.items())
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · lakeshop</title>"
        f'<link rel="stylesheet" href="/static/dashboard.css?v={_version()}">'
        # plotly's own rules from this origin; the id and class tell plotly.js not to add
        # them inline (which the CSP would refuse)
        '<link rel="stylesheet" id="plotly.js-style-global" class="no-inline-styles" '
        f'href="/static/plotly.css?v={plotly_version()}">'
        # the map library's sheet plotly.js would add inline: no map is drawn here
        + "".join(f'<meta name="plotly-sheet" id="{escape(i)}">' for i in plotly_sheet_ids())
        + f'<script src="/static/plotly.js?v={plotly_version()}" defer></script>'
        f'<script src="/static/dashboard.js?v={_version()}" defer></script>'
        f"</head><body {attributes}>{body}</body></html>"
    )
    response = HTMLResponse(text, headers={"Cache-Control": "no-store"})
    return secure_headers(response)


@router.get("/static/{file}", include_in_schema=False)
def static(file: str, request: Request) -> Response:
    """The page's script and style, and plotly's script and style; cached for a year (versioned URLs)."""
    audit_of(request).action = "static"
    if file == "plotly.js":
        content = plotly_js().encode()
    elif file == "plotly.css":
        content = plotly_css().encode()
    else:
        path = STATIC / file
        if file not in _files() or not path.is_file():
            raise HTTPException(404, f"no static file '{file}'")
        content = path.read_bytes()
    media = _TYPES.get(Path(file).suffix, "application/octet-stream")
    return secure_headers(Response(content, media_type=media, headers={"Cache-Control": _LONG}))


@functools.cache
def _files() -> frozenset[str]:
    return frozenset(p.name for p in STATIC.iterdir())


@functools.cache
def _version() -> str:
    """A short hash of the static files (their URLs change when they do)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]

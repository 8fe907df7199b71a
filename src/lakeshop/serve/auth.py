"""Who is asking: ``Authorization: Bearer <token>``, or the browser's session cookie.

The browser logs in with a user name and one of the user's tokens (``POST /login``, JSON).
The session cookie is HttpOnly and SameSite=Strict; a second cookie carries the session's CSRF
token, which the page sends back in ``X-CSRF-Token`` on every state-changing request (double
submit), and such a request must come from the server's own origin when it says where from.
A request with a bearer token carries no cookie-borne authority, so needs neither.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel

from lakeshop.app.access.policy import Principal
from lakeshop.core.errors import ConfigError
from lakeshop.serve.context import RequestAudit, ServeContext

SESSION_COOKIE = "lakeshop_session"
CSRF_COOKIE = "lakeshop_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

router = APIRouter()


def context(request: Request) -> ServeContext:
    ctx: ServeContext = request.app.state.ctx
    return ctx


def audit_of(request: Request) -> RequestAudit:
    record: RequestAudit = request.state.audit
    return record


def principal(request: Request) -> Principal:
    """The request's principal; 401 when it proves no identity, 403 on a CSRF failure."""
    ctx = context(request)
    record = audit_of(request)
    header = request.headers.get("authorization", "")
    user: str | None = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "use Authorization: Bearer <token>")
        user = ctx.tokens.verify(token.strip())
        if user is None:
            raise HTTPException(401, "unknown or revoked token")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        session = ctx.find_session(sid) if sid else None
        if session is None:
            raise HTTPException(401, "log in first (POST /login) or send a bearer token")
        user = session.user
        record.user = user
        if request.method not in _SAFE:
            check_origin(request)
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    record.user = user
    try:
        found = ctx.policy.principal(user)
    except ConfigError:  # a token of a user since removed from access.yml
        raise HTTPException(401, "this user is no longer declared in access.yml") from None
    record.role = found.role
    return found


Authenticated = Annotated[Principal, Depends(principal)]


def check_origin(request: Request) -> None:
    """Refuse a cookie-authenticated change coming from another site's page."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return  # not a browser's cross-site request (browsers send Origin on POST)
    host = request.headers.get("host", "")
    allowed = {f"http://{host}", f"https://{host}"}
    if not any(origin == a or origin.startswith(a + "/") for a in allowed):
        raise HTTPException(403, "cross-origin request refused")


class Login(BaseModel):
    user: str
    token: str


@router.post("/login")
def login(body: Login, request: Request, response: Response) -> dict[str, str]:
    """Open a browser session with a user's name and token; sets the session cookies."""
    ctx = context(request)
    record = audit_of(request)
    record.action, record.user = "login", body.user
    check_origin(request)
    user = ctx.tokens.verify(body.token)
    if user is None or not hmac.compare_digest(user.encode(), body.user.encode()):
        raise HTTPException(401, "wrong user or token")
    record.role = ctx.policy.principal(user).role
    sid, session = ctx.open_session(user)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, sid, httponly=True, samesite="strict", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, session.csrf, httponly=False, samesite="strict", secure=secure, path="/"
    )
    return {"user": user, "role": record.role, "csrf": session.csrf}


@router.post("/logout")
def logout(request: Request, response: Response, who: Authenticated) -> dict[str, str]:
    """Close the browser session."""
    audit_of(request).action = "logout"
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        context(request).close_session(sid)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"user": who.user}


@router.get("/api/me")
def me(request: Request, who: Authenticated) -> dict[str, object]:
    """Who the request is from: user, role, and the tables the role may read."""
    audit_of(request).action = "me"
    return {
        "user": who.user,
        "role": who.role,
        "tables": context(request).session(who).visible_tables(),
    }

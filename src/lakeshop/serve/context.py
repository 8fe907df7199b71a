"""What every request of the server shares, and the audit fields a request fills in."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakeshop.app.access.audit import AuditLog
from lakeshop.app.access.govern import GovernedSession
from lakeshop.app.access.policy import Policy, Principal
from lakeshop.app.access.readers import Readers
from lakeshop.app.access.tokens import TokenStore

if TYPE_CHECKING:
    from lakeshop.app.project import Project

#: a browser session lasts this long without a new login
SESSION_SECONDS = 8 * 3600


@dataclass
class Session:
    user: str
    csrf: str
    expires: float


@dataclass
class ServeContext:
    """The project served, its policy, tokens, browser sessions and audit log."""

    project: Project
    policy: Policy
    tokens: TokenStore
    audit: AuditLog
    target: str | None = None
    #: the governed DuckDB databases kept between requests (made from the fields above)
    readers: Readers = field(init=False)
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.readers = Readers(self.project, self.target)

    def session(self, principal: Principal) -> GovernedSession:
        """A governed session of ``principal`` over the served target: run SQL with
        ``ctx.session(principal).query(sql, params)`` (on the databases of :attr:`readers`)."""
        return GovernedSession(self.project, principal, self.policy, self.target, self.readers)

    def open_session(self, user: str) -> tuple[str, Session]:
        """A new browser session of ``user``: its id (the cookie) and its CSRF token."""
        sid = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(24), time.monotonic() + SESSION_SECONDS)
        with self._lock:
            self._sessions[sid] = session
        return sid, session

    def find_session(self, sid: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.expires < time.monotonic():
                del self._sessions[sid]
                return None
            return session

    def close_session(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)


@dataclass
class RequestAudit:
    """The audit row a request builds as it goes (the middleware writes it)."""

    action: str = "request"
    object: str | None = None
    statement: str | None = None
    user: str | None = None
    role: str | None = None
    rows: int | None = None
    error: str | None = None
    status: str | None = None

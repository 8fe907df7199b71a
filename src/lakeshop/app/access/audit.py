"""The access audit log ``_system.access``: one row per request, the shape of Unity Catalog's
``system.access.audit`` (time, user, role, action, object, statement and its hash, rows,
status, duration, client address).

Rows are buffered and appended in one Delta commit per second (or per :data:`BATCH_ROWS`
rows), and on close: a busy server does not make one commit per request. A token found in a
statement is replaced by ``lsk_***`` before it is kept; errors are kept as their first line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeshop.pipeline import system

if TYPE_CHECKING:
    from lakeshop.engines.lakehouse import Lakehouse

log = logging.getLogger(__name__)

#: rows kept in memory before a commit is forced
BATCH_ROWS = 500
#: seconds between two commits of the buffered rows
FLUSH_SECONDS = 1.0
#: a statement is kept up to this many characters
STATEMENT_CHARS = 4000
_TOKEN = re.compile(r"lsk_[A-Za-z0-9_\-]+")


@dataclass
class AccessEvent:
    """One request, as the audit log keeps it."""

    user_name: str | None
    role: str | None
    action: str
    object: str | None
    status: str
    http_status: int
    statement: str | None = None
    rows: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    client_address: str | None = None


def scrub(text: str | None) -> str | None:
    """``text`` with anything shaped like a token replaced by ``lsk_***``."""
    return None if text is None else _TOKEN.sub("lsk_***", text)


class AuditLog:
    """Buffered appends to ``_system.access``; :meth:`close` writes what is left."""

    def __init__(self, lakehouse: Lakehouse, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.lakehouse = lakehouse
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(flush_seconds,), name="lakeshop-audit", daemon=True
        )
        self._thread.start()

    def record(self, event: AccessEvent) -> None:
        """Keep one request's row (written within a second)."""
        row = asdict(event)
        statement = event.statement
        row["statement_hash"] = (
            hashlib.sha256(statement.encode()).hexdigest() if statement else None
        )
        row["statement"] = scrub(statement[:STATEMENT_CHARS]) if statement else None
        row["error"] = scrub(event.error.splitlines()[0][:1000]) if event.error else None
        row["object"] = scrub(event.object)
        row["user_name"] = scrub(event.user_name)  # a token typed as a name at login
        row["event_time"] = datetime.now(UTC).replace(tzinfo=None)
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= BATCH_ROWS
        if full:
            self.flush()

    def flush(self) -> int:
        """Commit the buffered rows now; returns how many."""
        with self._write_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if rows:
                system.append(self.lakehouse, system.ACCESS, rows)
            return len(rows)

    def close(self) -> None:
        """Stop the background commits and write what is buffered."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.flush()
            except Exception:  # a failed commit is retried with the next batch
                log.exception("could not write the access audit log")


def read_audit(
    lakehouse: Lakehouse, user: str | None = None, days: float | None = None
) -> pa.Table:
    """The audit rows, newest first, of ``user`` and of the last ``days`` when given."""
    import pyarrow.compute as pc

    table = system.read(lakehouse, system.ACCESS)
    if user is not None:
        table = table.filter(pc.equal(table["user_name"], user))
    if days is not None:
        since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
        table = table.filter(
            pc.greater_equal(table["event_time"], pa.scalar(since, pa.timestamp("us")))
        )
    return table.sort_by([("event_time", "descending")])

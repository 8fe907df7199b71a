"""One writer per target: a lock file beside the system tables, with a heartbeat.

``<root>/<catalog>/_system/_lock.json`` is created with ``O_CREAT | O_EXCL`` (atomic on local
file systems; on an object store, a conditional put with ``If-None-Match: *``, see
:func:`lakeshop.engines.storage.create_exclusive`) and holds the writer's pid, host, run id, start time and a heartbeat that a
thread refreshes while the writer works. Another writer is refused at once (or waits); a lock
whose process is gone (same host) or whose heartbeat is older than ``stale_after`` seconds is
taken over: under a short-lived guard file, the stale content is re-read, replaced by an atomic
rename and read back. Readers never take the lock: Delta snapshots keep them consistent.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakeshop.core.errors import LakeshopError
from lakeshop.engines import storage
from lakeshop.engines.lakehouse import Lakehouse

LOCK_FILE = "_lock.json"
#: a lock whose heartbeat is older than this (seconds) belongs to a hung or dead writer
DEFAULT_STALE_AFTER = 60.0
#: a takeover guard older than this (seconds) was left by a process killed mid-takeover
_GUARD_STALE = 10.0
_POLL = 0.25
#: a heartbeat this many seconds ahead of our clock tells of clocks that differ
SKEW_TOLERANCE = 5.0


class LockHeld(LakeshopError):
    """Another writer holds the target's lock."""

    def __init__(self, path: Path, holder: LockInfo | None, waited: float | None = None):
        self.path, self.holder = path, holder
        who = holder.describe() if holder else "another writer (lock file being written)"
        if waited is None:
            hint = "retry when it ends, or use --wait"
            super().__init__(f"{path}: the target is being written by {who}; {hint}")
        else:
            super().__init__(
                f"{path}: gave up after waiting {waited:.0f}s for {who} to finish; "
                "raise --wait-timeout or retry later"
            )


@dataclass
class LockInfo:
    """The lock file's contents."""

    token: str
    pid: int
    host: str
    run_id: str | None
    purpose: str
    started_at: str
    heartbeat: str

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else f"a {self.purpose} (starting)"
        age = time.time() - _epoch(self.heartbeat)
        beat = (
            f"heartbeat {-age:.0f}s in the future: the clock of {self.host} is ahead of ours"
            if age < -SKEW_TOLERANCE
            else f"heartbeat {max(age, 0):.0f}s ago"
        )
        return f"{run} (pid {self.pid} on {self.host}, started {self.started_at}, {beat})"

    def stale(self, stale_after: float, unchanged_for: float = 0.0) -> bool:
        """Whether the holder is gone: its process ended (same host), or its heartbeat has not
        moved for ``stale_after`` seconds. How long it has not moved is measured on our own
        monotonic clock while we wait (``unchanged_for``); by the wall clock only when the
        heartbeat is not in our future (another host's clock may be ahead: a heartbeat a day
        ahead must not hold the lock for a day)."""
        if self.host == socket.gethostname() and not _alive(self.pid):
            return True
        if unchanged_for > stale_after:
            return True
        age = time.time() - _epoch(self.heartbeat)
        return age > stale_after


def lock_path(lakehouse: Lakehouse) -> Path:
    """The lock file: in the target's ``_system`` folder (prefixed targets sharing a catalog,
    such as two users' development targets, each have their own)."""
    return lakehouse.root / lakehouse.catalog / f"{lakehouse.schema_prefix}_system" / LOCK_FILE


def holder(lakehouse: Lakehouse) -> LockInfo | None:
    """Who holds the target's lock now, if anyone (stale or not)."""
    _, info = _read(lock_path(lakehouse))
    return info


class WriterLock:
    """A held lock; refreshes its heartbeat in a thread until released."""

    def __init__(
        self,
        path: Path,
        info: LockInfo,
        interval: float,
        resolve_run_id: Callable[[datetime], str | None] | None,
    ) -> None:
        self.path, self.info, self.interval = path, info, interval
        self._resolve = resolve_run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lakeshop-lock", daemon=True)
        self.lost = False

    def set_run_id(self, run_id: str) -> None:
        self.info.run_id = run_id
        self._refresh()

    def _beat(self) -> None:
        # until the run id is known, look for it often; then refresh every interval
        while not self._stop.wait(self.interval if self.info.run_id else min(self.interval, 0.5)):
            if self._resolve is not None and not self.info.run_id:
                with contextlib.suppress(Exception):  # the run's first commit may be in flight
                    self.info.run_id = self._resolve(datetime.fromisoformat(self.info.started_at))
            try:
                self._refresh()
            except OSError:
                # a full disk (or a store out of reach) for a moment: the next beat tries again;
                # the run meets the same fault on its own writes and says so there. An error
                # left to end this thread would print a traceback and stop the heartbeat.
                continue

    def _refresh(self) -> None:
        raw, current = _read(self.path)
        if current is None or current.token != self.info.token:
            self.lost = raw is not None  # taken over (we were judged stale) or removed
            return
        self.info.heartbeat = _now()
        _replace(self.path, self.info)

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        _, current = _read(self.path)
        if current is not None and current.token == self.info.token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


@contextlib.contextmanager
def writer_lock(
    lakehouse: Lakehouse,
    *,
    purpose: str = "run",
    run_id: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    stale_after: float = DEFAULT_STALE_AFTER,
    resolve_run_id: Callable[[datetime], str | None] | None = None,
) -> Iterator[WriterLock]:
    """Hold the target's writer lock for the block; released in ``finally``. The
    lakehouse is its sole writer meanwhile (:meth:`Lakehouse.sole_writer`).

    Raises :class:`LockHeld` at once when another live writer holds it, or, with ``wait``,
    after ``timeout`` seconds (None: wait as long as it takes).
    """
    path = lock_path(lakehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = _now()
    info = LockInfo(uuid.uuid4().hex, os.getpid(), socket.gethostname(), run_id, purpose, now, now)
    interval = max(0.05, min(5.0, stale_after / 4))
    clock = time.monotonic()
    seen: tuple[str | None, float] = (None, clock)  # a heartbeat, and when we first saw it
    while True:
        info.started_at = info.heartbeat = _now()
        raw, _ = _read(path)
        if raw != seen[0]:
            seen = (raw, time.monotonic())
        unchanged = time.monotonic() - seen[1]
        if _create(path, info) or _take_over(path, stale_after, info, unchanged):
            break
        _, current = _read(path)
        waited = time.monotonic() - clock
        if not wait:
            raise LockHeld(path, current)
        if timeout is not None and waited >= timeout:
            raise LockHeld(path, current, waited)
        time.sleep(_POLL)
    lock = WriterLock(path, info, interval, resolve_run_id)
    lock._thread.start()
    try:
        # nobody else commits while we hold it: opened tables need no look at their logs
        with lakehouse.sole_writer():
            yield lock
    finally:
        lock.release()


def _create(path: Path, info: LockInfo) -> bool:
    return storage.create_exclusive(path, json.dumps(asdict(info)).encode())


def _take_over(path: Path, stale_after: float, info: LockInfo, unchanged_for: float = 0.0) -> bool:
    """Replace a stale lock with ours; False when it is not stale or someone else won.

    ``unchanged_for``: how long (our monotonic clock) we have seen the lock file unchanged."""
    raw, current = _read(path)
    if raw is None:
        return False  # released meanwhile: the next _create decides
    if current is not None and not current.stale(stale_after, unchanged_for):
        return False
    if current is None and not _older_than(path, stale_after):
        return False  # a writer between O_EXCL create and its first write
    guard = path.with_name(path.name + ".takeover")
    if not _create_guard(guard):
        return False
    try:
        again, _ = _read(path)
        if again != raw:
            return False  # changed under us: released, refreshed or taken over
        _replace(path, info)
        _, mine = _read(path)
        return mine is not None and mine.token == info.token
    finally:
        with contextlib.suppress(FileNotFoundError):
            guard.unlink()


def _create_guard(guard: Path) -> bool:
    for _ in range(2):
        if storage.create_exclusive(guard, b""):
            return True
        if not _older_than(guard, _GUARD_STALE):
            return False
        with contextlib.suppress(FileNotFoundError):
            guard.unlink()  # left by a process killed during a takeover
    return False


def _replace(path: Path, info: LockInfo) -> None:
    storage.write_atomic(path, json.dumps(asdict(info)).encode())


def _read(path: Path) -> tuple[str | None, LockInfo | None]:
    """The lock file's text (None: no lock) and its parsed contents (None: unreadable)."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None, None
    try:
        data: Any = json.loads(raw)
        return raw, LockInfo(**{k: data[k] for k in LockInfo.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        return raw, None


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except FileNotFoundError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except (OverflowError, ValueError):
        return False
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _epoch(stamp: str) -> float:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0


class UnlockRefused(LakeshopError):
    """``lakeshop unlock --force`` while the holder's process lives on this host."""


def force_unlock(lakehouse: Lakehouse) -> LockInfo | None:
    """Remove the target's lock (``lakeshop unlock --force``), refusing while its holder's
    process is alive on this host; returns who held it (None: no lock)."""
    path = lock_path(lakehouse)
    raw, current = _read(path)
    if raw is None:
        return None
    if current is not None and current.host == socket.gethostname() and _alive(current.pid):
        raise UnlockRefused(
            f"{path}: held by {current.describe()}, whose process is alive on this host; "
            "stop it first (Ctrl-C stops a run at its next safe point)"
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return current

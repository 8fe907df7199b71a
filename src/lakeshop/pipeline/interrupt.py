"""Stopping a run at the next safe point on SIGINT or SIGTERM.

:func:`handling` (installed by the CLI around ``run`` and ``replay``) turns the first signal
into a request: the runner stops after the table it is running (and ingestion after the batch
of files it is reading), commits nothing half-way, records the run ``interrupted`` and lets
the writer lock go. A second signal exits at once (status 130): every commit is atomic and the
next run resumes a run that ended early, exactly as after a kill.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from lakeshop.core.errors import LakeshopError

#: what a run stopped by a signal prints (stderr), and ``_system.runs.error`` holds
MESSAGE = "interrupted, nothing half-written; the next run resumes"
#: the exit status of a run stopped by a signal (as a shell reports SIGINT)
EXIT_STATUS = 130

_requested = threading.Event()
#: run before a second signal's immediate exit (which skips ``atexit``), e.g. to let a stderr
#: filter pass the last line through
_before_exit: list[Callable[[], None]] = []


class Interrupted(LakeshopError):
    """Raised at a safe point once a stop was requested (the run records it, not a failure)."""

    def __init__(self) -> None:
        super().__init__(MESSAGE)


def requested() -> bool:
    """Whether a stop was requested (a signal arrived during :func:`handling`)."""
    return _requested.is_set()


def check() -> None:
    """A safe point: raise :class:`Interrupted` when a stop was requested."""
    if _requested.is_set():
        raise Interrupted


def wait(seconds: float) -> bool:
    """Sleep ``seconds``, or less when a stop is requested meanwhile; whether one was (a
    long-lived loop's pause that a signal ends at once)."""
    return _requested.wait(max(0.0, seconds))


def before_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` before a second signal exits the process at once (``atexit`` does not run)."""
    _before_exit.append(hook)


def request() -> None:
    """Ask the running pipeline to stop at its next safe point (what a signal does)."""
    _requested.set()


@contextmanager
def handling() -> Iterator[None]:
    """SIGINT and SIGTERM stop the run at its next safe point; a second one exits at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread only
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if _requested.is_set():
            sys.stderr.write(f"\n{MESSAGE}\n")
            sys.stderr.flush()
            for hook in _before_exit:
                hook()
            os._exit(EXIT_STATUS)  # still safe: as after a kill, the next run resumes
        _requested.set()
        sys.stderr.write("\nstopping at the next safe point (again to stop at once)\n")
        sys.stderr.flush()

    before = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        _requested.clear()

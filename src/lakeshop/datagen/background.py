"""An ordered background worker: day D is written while day D+1 is generated."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class OrderedBackground(Generic[T, R]):
    """Runs ``work`` on worker threads; ``done`` receives the results in submission order.

    At most ``depth`` items are queued or running: beyond that, :meth:`submit` waits for the
    oldest, which bounds memory (``depth`` days of tables). An exception raised by ``work`` is
    re-raised in the caller, by the :meth:`submit` or :meth:`finish` that collects it; items
    not started yet are then cancelled. numpy and pyarrow compute release the GIL, so a thread
    overlaps most of the work (and no data is copied between processes).
    """

    def __init__(
        self,
        work: Callable[[T], R],
        done: Callable[[R], None],
        workers: int = 1,
        depth: int = 2,
    ) -> None:
        self._work = work
        self._done = done
        self._depth = max(1, depth)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="datagen-writer")
        self._pending: deque[Future[R]] = deque()

    def submit(self, item: T) -> None:
        """Queue ``item``; collect the oldest results while more than ``depth`` are pending."""
        self._pending.append(self._pool.submit(self._work, item))
        while len(self._pending) > self._depth:
            self._collect()

    def finish(self) -> None:
        """Wait for every item and hand over the remaining results."""
        while self._pending:
            self._collect()

    def _collect(self) -> None:
        result = self._pending.popleft().result()  # re-raises the worker's exception here
        self._done(result)

    def __enter__(self) -> OrderedBackground[T, R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # on error, drop what has not started; always wait for what is running
        self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)

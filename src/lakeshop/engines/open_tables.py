"""The Delta tables a lakehouse has opened, reused while their logs are unchanged.

Opening a table reads its log, and a run uses every table many times (binding, schemas,
watermarks, writes): an opened table is kept with what was derived from it, and before each
use its log folder is looked at (a listing) to see whether a commit came since. On the local
disk that costs a ``stat``; on an object store a listing is a round trip, and a run over two
small days made about 4,000 of them (about 40 % of its time on a local S3 server).

While this process holds the target's writer lock nobody else commits to its tables
(:func:`lakeshop.pipeline.lock.writer_lock` says so with :meth:`OpenTables.sole_writer`): an
opened table then stays current until this process commits to it (:meth:`OpenTables.changed`),
and its log is listed once after each such commit instead of before each use. Another writer
within the process (Delta Lake for Spark) says it committed the same way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from lakeshop.engines import storage

#: the stamp of a table this process committed to: never equal to a log's
CHANGED = (-1, -1)
#: the stamp of a table opened at a pinned version (time travel): never looked at again
PINNED = (-2, -2)


@dataclass
class Snapshot:
    """An opened Delta table and what has been derived from it, valid while its log is."""

    stamp: tuple[int, int]
    table: DeltaTable
    derived: dict[str, Any] = field(default_factory=dict)


class OpenTables:
    """Opened tables by path, each valid while its log's stamp is unchanged."""

    def __init__(self) -> None:
        self._open: dict[Path, Snapshot] = {}
        self._sole = False
        #: while the sole writer: the tables whose logs were looked at since it became so and
        #: that it has not committed to since
        self._current: set[Path] = set()
        #: while the sole writer: the tables seen to hold a commit (a table is not removed
        #: while it is, but by a restore or a clone, which :meth:`clear`)
        self._present: set[Path] = set()
        #: commits of this process by table (:meth:`changed`)
        self._commits: dict[Path, int] = {}

    def pinned(self, path: Path, open_table: Callable[[], DeltaTable]) -> Snapshot:
        """The table at a pinned version: opened once, never changes."""
        if path not in self._open:
            self._open[path] = Snapshot(PINNED, open_table())
        return self._open[path]

    def latest(self, path: Path, open_table: Callable[[], DeltaTable]) -> Snapshot:
        """The table's latest snapshot: the opened one while its log is unchanged (or while
        this process is the sole writer and has not committed to it), else brought up to
        date (only the commits it has not seen are read) or opened."""
        cached = self._open.get(path)
        if cached is not None and path in self._current:
            return cached
        commits = self._commits.get(path, 0)
        # the stamp is read before the log: a commit in between makes it stale, never wrong
        stamp = log_stamp(path)
        if cached is None or stamp is None or cached.stamp != stamp:
            if cached is not None and stamp is not None:
                cached.table.update_incremental()  # reads only the commits it has not seen
                table = cached.table
            else:
                table = open_table()
            cached = Snapshot(stamp or (0, 0), table)
            self._open.pop(path, None)
            if stamp is None:
                return cached
            self._open[path] = cached
        # a commit of ours since the stamp was read (another thread's) leaves it to be looked at
        if self._sole and self._commits.get(path, 0) == commits:
            self._current.add(path)
        return cached

    def exists(self, path: Path, has_commit: Callable[[Path], bool]) -> bool:
        """Whether the table at ``path`` holds a commit: ``has_commit(path)`` (a listing of its
        log), asked once while this process is the sole writer."""
        if path in self._current or path in self._present:
            return True
        found = has_commit(path)
        if found and self._sole:
            self._present.add(path)
        return found

    def changed(self, path: Path) -> None:
        """This process (or another writer in it) commits to the table: forget what was
        derived from it; the opened table is brought up to date on next use."""
        self._commits[path] = self._commits.get(path, 0) + 1
        self._current.discard(path)
        cached = self._open.get(path)
        if cached is not None:
            cached.stamp = CHANGED
            cached.derived.clear()

    def clear(self) -> None:
        """Forget every opened table (its files were replaced underneath, by a restore)."""
        self._open.clear()
        self._current.clear()
        self._present.clear()

    @contextlib.contextmanager
    def sole_writer(self) -> Iterator[None]:
        """For the block, nobody but this process commits: a table's log is looked at once,
        then again only after this process commits to it. Before and after the block, every
        table's log is looked at before each use (another writer may have committed)."""
        self._current.clear()
        self._present.clear()
        self._sole = True
        try:
            yield
        finally:
            self._sole = False
            self._current.clear()
            self._present.clear()


def log_stamp(path: Path) -> tuple[int, int] | None:
    """What changes with every commit to a table: its log folder's mtime and entry count."""
    log = path / "_delta_log"
    if storage.is_remote(path):  # no folder mtime on an object store: the newest entry's
        found = storage.entries(log)
        return (max(e[2] for e in found), len(found)) if found else None
    try:
        return os.stat(log).st_mtime_ns, len(os.listdir(log))
    except OSError:
        return None

"""A table's Delta log as files: whether it holds a commit, repairing a first commit that a
full disk or a kill left empty or partial, and a full disk named as such.

A table exists once its ``_delta_log`` holds a commit (a non-empty ``<version>.json`` or a
checkpoint). A folder whose log holds none (a first commit that failed) is no table: readers
do not list it, and the next write, or ``lakeshop doctor --repair``, removes it, so that the
table is created afresh from upstream. Zero-length commit files (never valid) at the end of a
log are removed the same way.
"""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from pathlib import Path

from lakeshop.core.errors import LakeshopError
from lakeshop.engines import storage

_COMMIT = re.compile(r"^\d{20}\.json$")
_CHECKPOINT = re.compile(r"^\d{20}\.checkpoint(\.\d+\.\d+)?\.parquet$")
#: how a full disk reads in an OS error, deltalake's or object_store's message
_FULL = ("No space left on device", "os error 28", "ENOSPC")


def has_commit(table_dir: Path) -> bool:
    """Whether the table's log holds at least one commit or checkpoint."""
    return any(
        (_COMMIT.match(name) or _CHECKPOINT.match(name)) and size > 0
        for name, size, _ in storage.entries(table_dir / "_delta_log")
    )


def broken(table_dir: Path) -> bool:
    """A log folder without any commit (a first commit that failed), or ending in an empty
    commit file."""
    log = table_dir / "_delta_log"
    if not log.is_dir():
        return False
    return not has_commit(table_dir) or bool(_empty_tail(log))


def repair(table_dir: Path) -> bool:
    """Remove what a failed commit left: the whole folder when the log holds no commit (the
    table is created afresh), else the empty commit files at its end. Whether it did."""
    log = table_dir / "_delta_log"
    if not log.is_dir():
        return False
    if not has_commit(table_dir):
        storage.remove_tree(table_dir)
        return True
    empty = _empty_tail(log)
    for path in empty:
        path.unlink()
    return bool(empty)


def _empty_tail(log: Path) -> list[Path]:
    """The zero-length commit files above the last non-empty one."""
    commits = sorted((n, size) for n, size, _ in storage.entries(log) if _COMMIT.match(n))
    tail = []
    for name, size in reversed(commits):
        if size:
            break
        tail.append(log / name)
    return tail


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error (deltalake's, Arrow's, the OS's) is a full disk."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return any(marker in str(exc) for marker in _FULL)


def disk_full(path: Path) -> LakeshopError:
    """The one line a full disk reads as."""
    return LakeshopError(f"no space left on device at {path}")


@contextlib.contextmanager
def writing(table_dir: Path) -> Iterator[None]:
    """A commit to the table in ``table_dir``: a full disk raises one line naming the path
    (the CLI keeps the Rust panic that may follow off the console: cli/panics.py)."""
    try:
        yield
    except Exception as exc:
        if is_disk_full(exc):
            raise disk_full(table_dir) from exc
        raise

"""``lakeshop env clone``: a development target started from another target's committed state
(prod's) without copying its data.

Every table of the source target (bronze, silver, gold, the project's models, quarantine and
``_system``) and its raw copies are hard-linked into the destination's folders, at the
versions of one committed state: the source's writer lock is held while the links are made
(a run in progress is waited for, never half taken), and of each table's log only the entries
up to the version recorded are linked. Delta never changes a file once written (a commit adds
log entries and data files; vacuum deletes), so a link is as good as a copy: a later write or
vacuum on either side leaves the other's files as they were. Linking takes a moment whatever
the volume, so a developer tests a change on production's rows in seconds. Where a link is
impossible (another filesystem), the file is copied, and the count says so.

The clone's ``_system.files`` is rewritten to point at its own raw copies (``replay`` on the
clone reads the clone's, not the source's). Nothing is ever written under the source's folders.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system

#: a Delta log entry or checkpoint: its version is the number its name starts with
_LOG_ENTRY = re.compile(r"^_delta_log/(\d{20})\.")
#: files of a table folder that are not part of its state (a hint rewritten in place, a
#: temporary file of a write in progress)
_SKIPPED = re.compile(r"(^|/)(_last_checkpoint|[^/]*\.tmp|[^/]*\.partial)$")


@dataclass
class Cloned:
    """What a clone took: the source's version of every table, and how its files came over."""

    source: str
    destination: str
    #: Delta version of every table, ``schema.table`` → version (the source's, at the clone)
    tables: dict[str, int]
    files_linked: int = 0
    files_copied: int = 0
    bytes: int = 0
    seconds: float = 0.0
    #: the destination's tables moved away first (``force``): their folder
    replaced: int = 0


def clone(
    project: Project,
    source: str,
    destination: str | None = None,
    *,
    force: bool = False,
    wait_timeout: float | None = None,
) -> Cloned:
    """Start target ``destination`` (default: the default target) from ``source``'s committed
    state, linking its files; refused into a production target, and into one that holds
    tables unless ``force`` (their folders are then removed first)."""
    src_name, _ = project.target(source)
    dst_name, dst_settings = project.target(destination)
    src, dst = project.lakehouse(src_name), project.lakehouse(dst_name)
    if dst_settings.mode == "production":
        raise LakeshopError(
            f"env clone: target {dst_name} is production; a clone starts a development target"
        )
    if src.remote or dst.remote:
        raise LakeshopError(
            "env clone: links files of the local disk; a target on an object store is cloned "
            "by the store (or copied with lakeshop backup/restore)"
        )
    if (src.root / src.catalog, src.schema_prefix) == (dst.root / dst.catalog, dst.schema_prefix):
        raise LakeshopError(f"env clone: targets {src_name} and {dst_name} are the same tables")
    started = time.monotonic()
    with api.writer_lock_of(project, dst_name, purpose="clone"):
        present = dst.tables()
        if present and not force:
            raise LakeshopError(
                f"env clone: target {dst_name} already holds {len(present)} tables (e.g. "
                f"{present[0]}); --force replaces them with {src_name}'s"
            )
        for table in present:
            shutil.rmtree(dst.path(table))
        if force and dst.raw_dir.is_dir():
            shutil.rmtree(dst.raw_dir)
        with api.writer_lock_of(
            project, src_name, purpose="clone", wait=True, timeout=wait_timeout
        ):
            versions = {t: v for t in src.tables() if (v := src.version(t)) is not None}
            if not versions:
                raise LakeshopError(f"env clone: target {src_name} has no table yet; run it first")
            done = Cloned(src_name, dst_name, versions, replaced=len(present))
            for table, version in versions.items():
                for path in _table_files(src.path(table), version):
                    _link(path, dst.path(table) / path.relative_to(src.path(table)), done)
            if src.raw_dir.is_dir():
                for path in sorted(p for p in src.raw_dir.rglob("*") if p.is_file()):
                    if not _SKIPPED.search(path.name):
                        _link(path, dst.raw_dir / path.relative_to(src.raw_dir), done)
        dst.forget_all()
        _point_at_own_raw(src, dst)
    done.seconds = round(time.monotonic() - started, 3)
    return done


def _table_files(folder: Path, version: int) -> list[Path]:
    """The files of a table folder that make its state at ``version``."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        entry = _LOG_ENTRY.match(relative)
        if _SKIPPED.search(relative) or (entry is not None and int(entry.group(1)) > version):
            continue
        files.append(path)
    return files


def _link(source: Path, destination: Path, done: Cloned) -> None:
    """Hard-link ``source`` at ``destination``; copy it (whole or not at all) where a link is
    impossible (another filesystem, a filesystem without links)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    size = source.stat().st_size
    try:
        os.link(source, destination)
        done.files_linked += 1
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        partial = destination.with_name(destination.name + ".partial")
        shutil.copy2(source, partial)
        os.replace(partial, destination)
        done.files_copied += 1
    done.bytes += size


def _point_at_own_raw(src: Lakehouse, dst: Lakehouse) -> None:
    """Rewrite the clone's ``_system.files.raw_path`` (relative to the root, under the
    catalog and the prefixed ``_raw``) from the source's raw folder to the clone's."""
    if not dst.exists(system.FILES):
        return
    before = f"{src.catalog}/{src.schema_prefix}_raw/"
    after = f"{dst.catalog}/{dst.schema_prefix}_raw/"
    if before == after:
        return  # another root, same layout: the paths hold as they are
    files = dst.read(system.FILES)
    raw = files.column("raw_path")
    rewritten = pc.replace_substring_regex(raw, pattern=f"^{re.escape(before)}", replacement=after)
    index = files.schema.get_field_index("raw_path")
    dst.write(system.FILES, files.set_column(index, "raw_path", rewritten), mode="overwrite")
    dst.forget_all()

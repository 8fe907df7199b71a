"""``lakeshop backup`` and ``lakeshop restore``: a target's committed state, copied and rebuilt.

A backup folder holds ``files/`` (every file of the target's catalog folder: the Delta tables
with their logs, ``_system`` and the raw copies, by their path under the catalog) and one
manifest per backup in ``manifests/`` (``<backup id>.json``): the Delta version of every
table, the files of that state, the last run. Delta never changes a file once written (a
commit adds log entries and data files), so a later backup copies only the files the folder
does not hold yet; a manifest is written last, so a backup killed midway is no backup (its
copied files are reused by the next one).

A backup is consistent: it holds the target's writer lock (it waits for a run to end, never
copies half of one), and it copies of each table only the log entries up to the version it
recorded (a commit made meanwhile without the lock, e.g. ``_system.sync``'s, is left out
whole). ``_last_checkpoint`` (a hint Delta rewrites in place) is not copied: readers find the
checkpoints by listing the log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError
from lakeshop.core.version import __version__
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.lock import LOCK_FILE

MANIFESTS = "manifests"
FILES = "files"
#: files of the catalog folder that are not part of its state
_SKIPPED = re.compile(rf"(^|/)({re.escape(LOCK_FILE)}[^/]*|_last_checkpoint|[^/]*\.tmp)$")
#: a Delta log entry or checkpoint: its version is the number its name starts with
_LOG_ENTRY = re.compile(r"(^|/)_delta_log/(\d{20})\.")


@dataclass
class Manifest:
    """One backup: when, of what, the tables' versions and the files holding them."""

    backup_id: str
    created_at: str
    lakeshop_version: str
    target: str
    catalog: str
    schema_prefix: str
    #: Delta version of every table, ``schema.table`` → version
    tables: dict[str, int]
    #: paths under the catalog folder (and under ``files/``) of every file of the state
    files: list[str]
    #: the newest run in ``_system.runs`` at the time: id and status (None: no run yet)
    last_run: dict[str, str] | None = None
    #: what this backup copied (the rest was in the folder already)
    files_copied: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def backup(
    project: Project,
    destination: Path,
    target: str | None = None,
    *,
    wait: bool = True,
    wait_timeout: float | None = None,
) -> Manifest:
    """Copy the target's committed state into ``destination`` (incremental after the first
    backup there); returns the new manifest. Holds the writer lock while it copies."""
    name, settings = project.target(target)
    lakehouse = project.lakehouse(target)
    _local_only(lakehouse, "backup")
    base = lakehouse.root / lakehouse.catalog
    if not lakehouse.tables():
        raise LakeshopError(f"backup: target {name} has no table yet under {base}; run it first")
    store = destination / FILES
    started = datetime.now(UTC)
    with api.writer_lock_of(project, target, purpose="backup", wait=wait, timeout=wait_timeout):
        versions = state_of(lakehouse)
        log_dirs = {_relative(lakehouse.path(t), base): v for t, v in versions.items()}
        runs = system.read(lakehouse, system.RUNS).to_pylist()
        files: list[str] = []
        copied = copied_bytes = 0
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            relative = _relative(path, base)
            if not _mine(relative, lakehouse):
                continue  # another target's, sharing the catalog (a user's development tables)
            if _SKIPPED.search(relative) or _later_commit(relative, log_dirs):
                continue
            files.append(relative)
            found = path.stat()
            size = found.st_size
            kept = store / relative
            if kept.is_file() and _same(kept.stat(), found):
                continue  # the one in the backup is this one (Delta files never change)
            _copy(path, kept)
            copied, copied_bytes = copied + 1, copied_bytes + size
    last = max(runs, key=lambda r: (r["batch_id"], r["started_at"]), default=None)
    manifest = Manifest(
        backup_id=f"{started:%Y%m%dT%H%M%S%f}",
        created_at=started.isoformat(timespec="milliseconds"),
        lakeshop_version=__version__,
        target=name,
        catalog=settings.catalog,
        schema_prefix=lakehouse.schema_prefix,
        tables=versions,
        files=files,
        last_run={"run_id": str(last["run_id"]), "status": str(last["status"])} if last else None,
        files_copied=copied,
        bytes_copied=copied_bytes,
        seconds=round((datetime.now(UTC) - started).total_seconds(), 3),
    )
    if last is not None and last["status"] == "running":
        manifest.notes.append(
            f"run {last['run_id']} had not ended (killed?): the next run after a restore "
            "closes it as aborted and resumes what it left"
        )
    _write_manifest(destination, manifest)
    return manifest


def manifests(source: Path) -> list[Manifest]:
    """The backups in ``source``, oldest first."""
    folder = source / MANIFESTS
    if not folder.is_dir():
        return []
    return [_read_manifest(p) for p in sorted(folder.glob("*.json"))]


def restore(
    project: Project,
    source: Path,
    target: str | None = None,
    *,
    backup_id: str | None = None,
    force: bool = False,
) -> tuple[Manifest, Path | None]:
    """Rebuild the target from a backup in ``source`` (the newest, or ``backup_id``).

    Refused when the target already holds tables, unless ``force``: then its catalog folder
    is moved aside (returned) first. Holds the writer lock while it writes.
    """
    found = manifests(source)
    if not found:
        raise LakeshopError(f"restore: {source} holds no backup (no {MANIFESTS}/*.json)")
    chosen = (
        found[-1]
        if backup_id is None
        else next((m for m in found if m.backup_id == backup_id), None)
    )
    if chosen is None:
        ids = ", ".join(m.backup_id for m in found[-5:])
        raise LakeshopError(f"restore: no backup {backup_id} in {source}; latest: {ids}")
    name, _ = project.target(target)
    lakehouse = project.lakehouse(target)
    _local_only(lakehouse, "restore")
    if lakehouse.schema_prefix != chosen.schema_prefix:
        raise LakeshopError(
            f"restore: backup {chosen.backup_id} has schema prefix {chosen.schema_prefix!r}, "
            f"target {name} has {lakehouse.schema_prefix!r}; restore into a target with the same"
        )
    base = lakehouse.root / lakehouse.catalog
    missing = [f for f in chosen.files if not (source / FILES / f).is_file()]
    if missing:
        raise LakeshopError(
            f"restore: backup {chosen.backup_id} is incomplete: {len(missing)} file(s) missing "
            f"from {source / FILES}, e.g. {missing[0]}"
        )
    moved: Path | None = None
    with api.writer_lock_of(project, target, purpose="restore"):
        if _holds_state(base, lakehouse):
            if not force:
                raise LakeshopError(
                    f"restore: target {name} already holds tables under {base}; "
                    "--force moves them aside first"
                )
            moved = _move_aside(base, lakehouse)
        for relative in chosen.files:
            _copy(source / FILES / relative, base / relative)
    lakehouse.forget_all()
    return chosen, moved


def _mine(relative: str, lakehouse: Lakehouse) -> bool:
    """Whether a path under the catalog folder is the target's (see ``Lakehouse.mine``)."""
    return lakehouse.mine(relative.split("/", 1)[0])


def _holds_state(base: Path, lakehouse: Lakehouse) -> bool:
    return base.is_dir() and any(
        p.is_file() and _mine(r := _relative(p, base), lakehouse) and not _SKIPPED.search(r)
        for p in base.rglob("*")
    )


def _move_aside(base: Path, lakehouse: Lakehouse) -> Path:
    """Move the target's entries of the catalog folder but its lock into a sibling folder."""
    aside = base.with_name(f"{base.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    aside.mkdir(parents=True)
    for entry in base.iterdir():
        if not _mine(entry.name, lakehouse):
            continue
        if entry.name == f"{lakehouse.schema_prefix}_system":
            kept = aside / entry.name
            kept.mkdir()
            for inner in entry.iterdir():
                if not _SKIPPED.search(inner.name):
                    inner.rename(kept / inner.name)
        else:
            entry.rename(aside / entry.name)
    return aside


def _same(kept: os.stat_result, found: os.stat_result) -> bool:
    """Whether a file copied earlier (with its modification time) is the file now: a Delta
    file never changes, but the MLflow database under the catalog is rewritten in place, at
    times to the same size."""
    return (kept.st_size, kept.st_mtime_ns) == (found.st_size, found.st_mtime_ns)


def _later_commit(relative: str, log_dirs: dict[str, int]) -> bool:
    """Whether ``relative`` is a log entry of a version after the one the backup records."""
    match = _LOG_ENTRY.search(relative)
    if match is None:
        return False
    table = relative[: match.start()]
    recorded = log_dirs.get(table)
    return recorded is None or int(match.group(2)) > recorded


def _relative(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _copy(source: Path, destination: Path) -> None:
    """Copy a file whole or not at all (a killed copy leaves no part of it under its name)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    shutil.copy2(source, partial)
    os.replace(partial, destination)


def _write_manifest(destination: Path, manifest: Manifest) -> None:
    folder = destination / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{manifest.backup_id}.json"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(manifest), indent=1))
    os.replace(partial, path)


def _read_manifest(path: Path) -> Manifest:
    try:
        data: Any = json.loads(path.read_text())
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise LakeshopError(f"{path}: not a lakeshop backup manifest ({exc})") from exc


def state_of(lakehouse: Lakehouse) -> dict[str, int]:
    """Every table's current Delta version (what a backup of the lakehouse now records)."""
    return {t: v for t in lakehouse.tables() if (v := lakehouse.version(t)) is not None}


def _local_only(lakehouse: Lakehouse, command: str) -> None:
    """Backups copy files of the local disk; an object store keeps its own (versioning,
    replication), so a target on one is refused rather than half copied."""
    if lakehouse.remote:
        raise LakeshopError(
            f"{command}: target lakehouse {lakehouse.root} is on an object store; use the "
            "store's versioning or replication (lakeshop backs up local lakehouses only)"
        )

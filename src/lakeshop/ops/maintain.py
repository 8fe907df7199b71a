"""``lakeshop maintain``: compact, checkpoint and vacuum every Delta table of a target.

Per table: small files are compacted into files of up to the size runs write (a Delta
``OPTIMIZE`` commit: same rows, new files), a checkpoint is written at the new version, files
no longer referenced and older than the retention are deleted (``VACUUM``), and expired log
files are cleaned up. Time travel keeps working for every version younger than the retention.

Maintenance rewrites files, so it holds the target's writer lock. Its commits carry the
table's latest upstream watermarks forward, so that incremental runs find them in the newest
commit even once old log files are cleaned up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from lakeshop.engines.commit_info import carried_watermarks
from lakeshop.engines.lakehouse import TARGET_FILE_BYTES, Lakehouse
from lakeshop.pipeline import lakeformat
from lakeshop.pipeline.lock import writer_lock

#: below this retention (hours), Delta's own safety check must be switched off explicitly
DELTA_MIN_RETENTION_HOURS = 168


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    name: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_removed: int
    bytes_removed: int


def maintain_lakehouse(
    lakehouse: Lakehouse, retention_hours: int, *, explicit: bool = False
) -> list[TableMaintenance]:
    """Maintain every table; ``explicit`` (the user asked for this retention) allows one
    shorter than Delta's default minimum of 168 hours. The caller holds the writer lock."""
    if retention_hours < 0:
        raise ConfigError("--retention-hours", "a number of hours >= 0", retention_hours)
    if retention_hours < DELTA_MIN_RETENTION_HOURS and not explicit:
        raise ConfigError(
            "--retention-hours",
            f"at least {DELTA_MIN_RETENTION_HOURS} hours unless given explicitly",
            retention_hours,
        )
    return [
        maintain_table(lakehouse, name, retention_hours, explicit=explicit)
        for name in lakehouse.tables()
    ]


def maintain_table(
    lakehouse: Lakehouse, name: str, retention_hours: int, *, explicit: bool = False
) -> TableMaintenance:
    """Compact, checkpoint, vacuum and clean up the log of one table."""
    dt = lakehouse.delta(name)
    before, files_before = dt.version(), len(dt.file_uris())
    props = carried_watermarks(dt)
    # to the files' own size, not delta-rs's 100 MB: merged, a month of days is one file again
    dt.optimize.compact(target_size=TARGET_FILE_BYTES, commit_properties=props)
    dt.create_checkpoint()
    relaxed = explicit and retention_hours < DELTA_MIN_RETENTION_HOURS
    doomed = dt.vacuum(
        retention_hours=retention_hours, dry_run=True, enforce_retention_duration=not relaxed
    )
    size = sum(_size(lakehouse.path(name), f) for f in doomed)
    removed = dt.vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        enforce_retention_duration=not relaxed,
        commit_properties=props,
    )
    dt.cleanup_metadata()
    lakehouse.forget(name)  # committed to directly, not through the lakehouse
    dt = lakehouse.delta(name)
    return TableMaintenance(
        name, before, dt.version(), files_before, len(dt.file_uris()), len(removed), size
    )


def _size(root: Path, relative: str) -> int:
    try:
        return (root / relative).stat().st_size  # a local file or an object
    except OSError:
        return 0


def maintain(
    project: Project, target: str | None = None, retention_hours: int | None = None
) -> list[TableMaintenance]:
    """Maintain every table of the target under its writer lock.

    The retention is ``retention_hours`` when given, else the target's ``retention_hours``
    setting (168 by default); either one, set by the user, may go below Delta's 168-hour
    minimum (time travel then reaches back only that far).
    """
    name, settings = project.target(target)
    explicit = retention_hours is not None or "retention_hours" in settings.model_fields_set
    hours = retention_hours if retention_hours is not None else settings.retention_hours
    lakehouse = project.lakehouse(target)
    with writer_lock(lakehouse, purpose="maintain", stale_after=settings.lock_stale_seconds):
        lakeformat.check_writable(lakehouse, name)
        return maintain_lakehouse(lakehouse, hours, explicit=explicit)

"""The lakehouse's format version, recorded in ``_system.format``.

A lakehouse is created at this lakeshop's :data:`FORMAT_VERSION` (the first run records it).
One written before the version was recorded (tables, but no ``_system.format`` row) is at
format 0. Writers refuse a lakehouse at another format than theirs with one line saying what
to do: an older one is upgraded by ``lakeshop migrate`` (:mod:`lakeshop.ops.migrate`), a
newer one needs a newer lakeshop.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lakeshop.core.errors import LakeshopError
from lakeshop.core.version import __version__
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system

#: the format this lakeshop reads and writes; one more for each change an older lakehouse
#: needs a migration for (and a migration step in lakeshop.ops.migrate)
FORMAT_VERSION = 1


class FormatMismatch(LakeshopError):
    """The lakehouse is at another format than this lakeshop writes."""

    exit_code = 2


def version(lakehouse: Lakehouse) -> int | None:
    """The lakehouse's format: None when it holds no table yet (it will be created at
    :data:`FORMAT_VERSION`), 0 when it was written before formats were recorded."""
    if lakehouse.exists(system.FORMAT):
        recorded = system.read(lakehouse, system.FORMAT).column("format_version").to_pylist()
        found = [v for v in recorded if v is not None]
        if found:
            return int(max(found))
    return 0 if lakehouse.tables() else None


def record(lakehouse: Lakehouse, format_version: int, note: str) -> None:
    """Append the lakehouse's (new) format version to ``_system.format``."""
    row = {
        "format_version": format_version,
        "lakeshop_version": __version__,
        "recorded_at": datetime.now(UTC).replace(tzinfo=None),
        "note": note,
    }
    system.append(lakehouse, system.FORMAT, [row])


def record_if_new(lakehouse: Lakehouse) -> None:
    """Record :data:`FORMAT_VERSION` on a lakehouse that holds no table yet."""
    if version(lakehouse) is None:
        record(lakehouse, FORMAT_VERSION, "created")


def check_writable(lakehouse: Lakehouse, target: str) -> None:
    """Refuse, in one line, to write a lakehouse at another format than this lakeshop's."""
    found = version(lakehouse)
    if found is None or found == FORMAT_VERSION:
        return
    where = f"target {target} ({lakehouse.root / lakehouse.catalog})"
    if found < FORMAT_VERSION:
        written = "before lakeshop recorded formats" if found == 0 else f"at format {found}"
        raise FormatMismatch(
            f"{where} was written by an older lakeshop ({written}); this one writes format "
            f"{FORMAT_VERSION}: run `lakeshop migrate --target {target}` first "
            "(`lakeshop backup` before, to keep a copy)"
        )
    raise FormatMismatch(
        f"{where} is at format {found}, written by a newer lakeshop; this one "
        f"({__version__}) knows formats up to {FORMAT_VERSION}: upgrade lakeshop"
    )

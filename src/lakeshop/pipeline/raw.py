"""The immutable raw copies as a source of bronze: full refresh and replay of ingestion dates.

Every delivery of a file (its path and content) has its first entry in ``_system.files``
with status ``ingested``, ``redelivered`` or ``error``; a full refresh or a replay reads it
again from its raw copy and records it once more with status ``replayed`` (same path,
content and raw copy, the run's batch id). The latest entry of a delivery is the one whose
batch holds its rows in bronze.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lakeshop.core.errors import LakeshopError

#: statuses of entries whose file's rows (or rejected lines) bronze holds
DELIVERED = ("ingested", "redelivered", "error", "replayed")
_INGEST_DATE = re.compile(r"(?:^|/)ingest_date=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class RawCopy:
    """A delivery to read again: its landing-relative path and its raw copy."""

    relative: str
    raw: Path
    raw_path: str
    size: int
    modified_at: datetime
    sha256: str
    first_batch: int
    ingest_date: date
    #: the lookup files its rows were last joined with (``_system.files.lookups``), or ""
    lookups: str = ""


def deliveries(log: list[dict[str, Any]], root: Path) -> list[RawCopy]:
    """Each delivery of the log's entries (one source), in ingestion order (batch, path)."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    joined: dict[tuple[str, str], str] = {}
    for r in sorted(log, key=lambda r: (r["batch_id"], r["path"])):
        if r["status"] in DELIVERED:
            first.setdefault((r["path"], r["sha256"]), r)
            if r.get("lookups"):
                joined[(r["path"], r["sha256"])] = r["lookups"]
    out = []
    for r in first.values():
        raw_path = r["raw_path"]
        if not raw_path or not (root / raw_path).is_file():
            raise LakeshopError(
                f"file {r['path']} (batch {r['batch_id']}): no raw copy at "
                f"{root / str(raw_path or '?')}; it cannot be read again"
            )
        found = _INGEST_DATE.search(raw_path)
        day = date.fromisoformat(found.group(1)) if found else r["ingested_at"].date()
        out.append(
            RawCopy(
                r["path"],
                root / raw_path,
                raw_path,
                r["size"],
                r["modified_at"],
                r["sha256"],
                r["batch_id"],
                day,
                joined.get((r["path"], r["sha256"]), ""),
            )
        )
    return out


def in_range(copies: list[RawCopy], start: date, end: date) -> list[RawCopy]:
    """The deliveries ingested from ``start`` to ``end`` (inclusive), with every other delivery
    of the same paths: bronze rows are replaced by path, so all of a path's deliveries are
    read again together."""
    paths = {c.relative for c in copies if start <= c.ingest_date <= end}
    return [c for c in copies if c.relative in paths]


def replay_trigger(start: date, end: date) -> str:
    """The ``trigger`` of a replay run in ``_system.runs`` (it names the range)."""
    return f"replay {start.isoformat()}..{end.isoformat()}"


def parse_trigger(trigger: str | None) -> tuple[date, date] | None:
    """The range of a replay run's trigger; None for any other run."""
    found = re.fullmatch(r"replay (\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", trigger or "")
    if not found:
        return None
    return date.fromisoformat(found.group(1)), date.fromisoformat(found.group(2))

"""Which files an ingestion reads: new landing files by path and content, raw copies to replay."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from lakeshop.pipeline import system
from lakeshop.pipeline.changes import fingerprint, latest_deliveries, refused
from lakeshop.pipeline.context import RunContext
from lakeshop.pipeline.jail import matching, resolved
from lakeshop.pipeline.raw import DELIVERED, RawCopy, deliveries, in_range
from lakeshop.pipeline.sources import Source


@dataclass
class Candidate:
    """A landing file and what the ingestion log already knows of it."""

    path: Path
    relative: str
    size: int
    modified_at: datetime
    sha256: str = ""
    #: ingested | redelivered (new content under a known path) | duplicate (known content
    #: under a new path: not read) | replayed (read again from ``raw_path``) | vanished
    #: (listed, then gone before it was read: not read, read when it lands again)
    status: str = "ingested"
    note: str = ""
    raw_path: str = ""
    #: a delivery refused under an earlier configuration, read again from its raw copy
    retry: bool = False

    #: a replayed delivery's lookup files (``_system.files.lookups``), joined again as they were
    lookups: str = ""


def to_read(ctx: RunContext, source: Source, listed: list[Path]) -> list[Candidate]:
    """What an ingestion reads, in order: the raw copies a full refresh or a replay reads
    again, the files refused under an earlier configuration (tried again from their raw
    copies), then the new landing files among ``listed`` (the source's files inside the
    landing folder, listed once by the caller)."""
    replayed = replays(ctx, source)
    again = {c.relative for c in replayed}
    tried = [c for c in retries(ctx, source) if c.relative not in again]
    return [*replayed, *tried, *new_files(ctx, source, listed)]


def retries(ctx: RunContext, source: Source) -> list[Candidate]:
    """Deliveries whose latest entry is a refusal under another configuration of the source
    than today's, to be read again from their raw copies (refusals without a recorded
    configuration, or without a raw copy, are left as they are)."""
    if ctx.full_refresh:  # reads every delivery again anyway
        return []
    now = fingerprint(source)
    log = [
        r
        for r in system.read(ctx.lakehouse, system.FILES).to_pylist()
        if r["source"] == source.name
    ]
    out = []
    for r in latest_deliveries(log):
        if not refused(r) or r["config_fingerprint"] in (None, now) or not r["raw_path"]:
            continue
        raw = ctx.lakehouse.root / r["raw_path"]
        if r["size"] and raw.is_file():
            note = f"tried again: refused in batch {r['batch_id']} under an earlier configuration"
            out.append(
                Candidate(
                    raw,
                    r["path"],
                    r["size"],
                    r["modified_at"],
                    r["sha256"],
                    note=note,
                    raw_path=r["raw_path"],
                    retry=True,
                )
            )
    return out


def new_files(ctx: RunContext, source: Source, listed: list[Path]) -> list[Candidate]:
    """Files of the source (``listed``) whose content has not been ingested for it under their name yet.

    A file is known by its path and its sha256. Content already ingested for the source
    under another name is a ``duplicate`` (recorded, not read); new content under a known
    name is ``redelivered`` (read: its rows are added to the earlier ones). Empty files
    are never duplicates of each other.
    """
    known = system.read(ctx.lakehouse, system.FILES)
    seen_stat: set[tuple[str, int, datetime]] = set()
    seen_sha: set[tuple[str, str]] = set()
    first_of: dict[str, str] = {}  # sha256 → first path ingested with that content
    content_of: dict[str, str] = {}  # path → sha256 of its latest delivery
    columns = ["source", "path", "size", "modified_at", "sha256", "status", "batch_id"]
    log = [r for r in known.select(columns).to_pylist() if r["source"] == source.name]
    for r in sorted(log, key=lambda r: (r["batch_id"], r["path"])):
        if r["status"] == "vanished":  # never read: known by neither its stat nor its content
            continue
        seen_stat.add((r["path"], r["size"], r["modified_at"]))
        seen_sha.add((r["path"], r["sha256"]))
        if r["status"] in ("ingested", "redelivered", "replayed") and r["size"]:
            first_of.setdefault(r["sha256"], r["path"])
        if r["status"] in DELIVERED:
            content_of[r["path"]] = r["sha256"]
    out = []
    for landed in listed:
        relative, odd_name = _printable(landed.relative_to(ctx.landing).as_posix())
        if ctx.through is not None and delivered_after(relative, ctx.through):
            continue  # a later business day's delivery: its own run reads it
        path = landed
        try:
            stat = landed.stat()  # the file's, through a link: a known file is not resolved
            modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
            if (relative, stat.st_size, modified) in seen_stat:
                continue
            path = resolved(landed)  # read, hashed and copied by its real path (see jail)
            cand = Candidate(path, relative, stat.st_size, modified, _sha256(path))
        except FileNotFoundError:  # gone since the listing: recorded, the source goes on
            out.append(Candidate(path, relative, 0, datetime(1970, 1, 1), status="vanished"))
            continue
        if (relative, cand.sha256) in seen_sha:
            continue
        seen_sha.add((relative, cand.sha256))
        if cand.sha256 in first_of and cand.size:
            cand.status = "duplicate"
            cand.note = f"duplicate delivery: same content as {first_of[cand.sha256]}"
        elif relative in content_of:
            cand.status = "redelivered"
            cand.note = f"re-delivery: earlier content had sha256 {content_of[relative]}"
        if cand.status != "duplicate" and cand.size:
            first_of.setdefault(cand.sha256, relative)
        content_of[relative] = cand.sha256
        if odd_name:
            cand.note = join_notes(cand.note, "file name is not valid UTF-8: kept with \\x escapes")
        out.append(cand)
    return out


#: a business date in a landing path (``orders_2026-01-05.csv``, ``2026-01-05/orders.csv``)
_DATE_IN_PATH = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


def delivered_after(relative: str, day: date) -> bool:
    """Whether the landing path names a business date later than ``day`` (its last date, when
    it names several); a path naming no date belongs to every day."""
    found = _DATE_IN_PATH.findall(relative)
    if not found:
        return False
    try:
        return date.fromisoformat(found[-1]) > day
    except ValueError:
        return False


def replays(ctx: RunContext, source: Source) -> list[Candidate]:
    """The deliveries a full refresh or a replay reads again from their raw copies."""
    if not ctx.full_refresh and ctx.replay is None:
        return []
    log = [
        r
        for r in system.read(ctx.lakehouse, system.FILES).to_pylist()
        if r["source"] == source.name
    ]
    copies = deliveries(log, ctx.lakehouse.root)
    if not ctx.full_refresh and ctx.replay is not None:
        copies = in_range(copies, *ctx.replay)
    return [_replayed(c) for c in copies]


def _replayed(copy: RawCopy) -> Candidate:
    """A delivery read again: the raw copy is parsed, ``_source_file`` stays its landing path."""
    return Candidate(
        copy.raw,
        copy.relative,
        copy.size,
        copy.modified_at,
        copy.sha256,
        status="replayed",
        raw_path=copy.raw_path,
        lookups=copy.lookups,
    )


def unmatched_files(landing: Path, sources: dict[str, Source]) -> list[str]:
    """Landing files no source's ``path`` matches, relative to the landing folder, in order.

    Files and folders whose name starts with ``_`` or ``.`` are not deliveries (a
    generator's ledger, files held back, hidden files) and are left out.
    """
    if not landing.is_dir():
        return []
    matched: set[Path] = set()
    for source in sources.values():
        inside, outside = matching(landing, source.path)  # outside: refused, still matched
        matched.update(inside, outside)
    out = []
    for path in sorted(landing.rglob("*")):
        relative = path.relative_to(landing)
        if any(part.startswith(("_", ".")) for part in relative.parts):
            continue
        if path.is_file() and path not in matched:
            out.append(_printable(relative.as_posix())[0])
    return out


def _printable(name: str) -> tuple[str, bool]:
    """``name`` as valid UTF-8 text, and whether it was not: undecodable bytes of a file name
    (surrogates in Python) become ``\\xNN`` escapes, a stable name the log and tables can hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace"), True
    return name, False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def join_notes(*parts: str) -> str:
    """The non-empty notes joined by ``; ``, each once, in order."""
    return "; ".join(dict.fromkeys(p for p in parts if p))  # each note once, in order

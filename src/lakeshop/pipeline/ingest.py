"""Bronze ingestion: new landing files exactly once, raw copies kept, malformed lines kept."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from lakeshop.core.errors import LakeshopError, SourceFileError
from lakeshop.core.logs import get_logger
from lakeshop.engines.base import ParsedFile, quote
from lakeshop.engines.files import CsvOptions, parse_csv, parse_parquet
from lakeshop.pipeline import system
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.raw import DELIVERED, RawCopy, deliveries, in_range
from lakeshop.pipeline.sources import Source
from lakeshop.pipeline.strategies import Inputs, Strategy

log = get_logger(__name__)

AUDIT = pa.schema(
    [
        ("_rescued_data", pa.string()),
        ("_source_file", pa.string()),
        ("_source_row", pa.int64()),
        ("_ingested_at", pa.timestamp("us")),
        ("_batch_id", pa.int64()),
        # the file's modified time as first logged (a replay keeps it): updated_at's default
        ("_delivered_at", pa.timestamp("us")),
    ]
)
REJECTS = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_source_row", pa.int64()),
        ("line_text", pa.string()),
        ("reason", pa.string()),
        ("_ingested_at", pa.timestamp("us")),
        ("_batch_id", pa.int64()),
        ("_run_id", pa.string()),
    ]
)


def bronze_schema(source: Source) -> pa.Schema:
    """Contract fields as received (text), then the audit columns."""
    return pa.schema([(f, pa.string()) for f in source.fields] + list(AUDIT))


#: rows held in memory before a commit: ingestion memory stays bounded whatever the backlog
FLUSH_ROWS = 500_000
#: most files whose rows one replay commit replaces (they are listed in its Delta predicate)
PATHS_PER_COMMIT = 200
#: commit metadata of an ingestion: ``[batch id, [paths of the files it holds]]``
FILES_KEY = "lakeshop.ingested_files"


@dataclass
class _Batch:
    """Files read but not yet committed."""

    rows: list[pa.Table] = field(default_factory=list)
    rejects: list[pa.Table] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    #: the run's first commit (a full refresh replaces the tables with it)
    first: bool = False
    #: files read again from their raw copies (a replay replaces their rows)
    replaying: bool = False
    paths: set[str] = field(default_factory=set)

    @property
    def size(self) -> int:
        return int(sum(t.num_rows for t in self.rows) + sum(t.num_rows for t in self.rejects))


@dataclass
class Candidate:
    """A landing file and what the ingestion log already knows of it."""

    path: Path
    relative: str
    size: int
    modified_at: datetime
    sha256: str = ""
    #: ingested | redelivered (new content under a known path) | duplicate (known content
    #: under a new path: not read) | replayed (read again from ``raw_path``)
    status: str = "ingested"
    note: str = ""
    raw_path: str = ""


class IngestStrategy(Strategy):
    """Appends the rows of files not ingested before; unreadable files are recorded, not fatal."""

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        if table.source not in ctx.sources:
            raise LakeshopError(f"table {table.name}: source '{table.source}' is not configured")
        source = ctx.sources[table.source]
        self.drop_orphans(ctx, table, source)
        result = TableResult()
        schema = bronze_schema(source)
        batch = _Batch(first=True)
        counts: dict[str, int] = {}
        for cand in [*self.replays(ctx, source), *self.new_files(ctx, source)]:
            replaying = cand.status == "replayed"
            if not batch.log:
                batch.replaying = replaying
            elif replaying != batch.replaying or (
                cand.relative not in batch.paths
                and (batch.size >= FLUSH_ROWS or len(batch.paths) >= PATHS_PER_COMMIT)
            ):
                self.flush(ctx, table, schema, batch)
                batch = _Batch(replaying=replaying)
            batch.paths.add(cand.relative)
            entry: dict[str, Any] = {
                "source": source.name,
                "path": cand.relative,
                "size": cand.size,
                "modified_at": cand.modified_at,
                "sha256": cand.sha256,
                "batch_id": ctx.batch_id,
                "run_id": ctx.run_id,
                "ingested_at": ctx.started_at,
                "rows": 0,
                "rejected_lines": 0,
            }
            try:
                if cand.status == "duplicate":
                    raise SourceFileError(str(cand.path), cand.note)
                good, bad, change = self.read_file(ctx, source, cand, schema)
            except SourceFileError as exc:
                change = exc.change if isinstance(exc, SchemaMismatch) else ""
                status = cand.status if cand.status in ("duplicate", "replayed") else "error"
                entry.update(status=status, error=_notes(cand.note, exc.reason))
                log.log(
                    logging.INFO if status == "duplicate" else logging.WARNING,
                    f"file {status}",
                    extra={"table": table.name, "path": cand.relative, "error": entry["error"]},
                )
            else:
                batch.rows.append(good)
                batch.rejects.append(bad)
                entry.update(
                    status=cand.status,
                    error=cand.note or None,
                    rows=good.num_rows,
                    rejected_lines=bad.num_rows,
                )
                result.rows_written += good.num_rows
                result.rows_quarantined += bad.num_rows
                log.info(
                    f"file {cand.status}",
                    extra={
                        "table": table.name,
                        "path": cand.relative,
                        "rows": good.num_rows,
                        "rejected_lines": bad.num_rows,
                    },
                )
            entry["schema_change"] = change or None
            note_change(result, change)
            entry["raw_path"] = cand.raw_path or self.keep_raw(ctx, source, cand)
            batch.log.append(entry)
            result.files += 1
            counts[cand.status] = counts.get(cand.status, 0) + 1
        self.flush(ctx, table, schema, batch)
        result.rows_in = result.rows_written + result.rows_quarantined
        result.note = _notes(_summary(counts), result.note)
        return result

    @staticmethod
    def flush(ctx: RunContext, table: Table, schema: pa.Schema, batch: _Batch) -> None:
        """Commit the rows, then the rejects, then the files' log entries of a batch of files.

        A full refresh replaces both tables with its first batch; a replayed batch replaces
        the rows of its files (one commit per table); any other batch is appended.
        """
        lakehouse = ctx.lakehouse
        if batch.rows or not lakehouse.exists(table.name) or batch.first or batch.replaying:
            # files of a source with on_new_columns: add may bring different extra columns
            data = (
                pa.concat_tables(batch.rows, promote_options="default")
                if batch.rows
                else schema.empty_table()
            )
            _commit(ctx, table.name, data, batch, metadata={"lakeshop.run_id": ctx.run_id})
        if batch.rejects or not lakehouse.exists(table.rejects) or batch.first or batch.replaying:
            bad = pa.concat_tables(batch.rejects) if batch.rejects else REJECTS.empty_table()
            _commit(ctx, table.rejects, bad, batch)
        system.append(lakehouse, system.FILES, batch.log)

    @staticmethod
    def drop_orphans(ctx: RunContext, table: Table, source: Source) -> None:
        """Remove rows of files whose ingestion a killed run committed but never logged.

        The ingestion log is written after a batch's rows; a file's rows in bronze (and its
        rejects) without its log entry come from a run that died in between. The file is not
        in the log, so it is ingested again now; its earlier rows must go first.
        """
        if not ctx.lakehouse.exists(table.name):
            return
        log = [
            r
            for r in system.read(ctx.lakehouse, system.FILES).to_pylist()
            if r["source"] == source.name
        ]
        floor = max((r["batch_id"] for r in log), default=-1)
        logged = {(r["path"], r["batch_id"]) for r in log}
        for name in (table.name, table.rejects):
            if not ctx.lakehouse.exists(name) or _logged_last(ctx, name, logged):
                continue
            ctx.engine.bind_table(name)
            pairs = ctx.engine.fetch(
                f"SELECT DISTINCT _source_file, _batch_id FROM {name} WHERE _batch_id >= {floor}"
            ).to_pylist()
            orphans: dict[int, list[str]] = {}
            for p in pairs:
                if (p["_source_file"], p["_batch_id"]) not in logged:
                    orphans.setdefault(p["_batch_id"], []).append(p["_source_file"])
            for batch_id, files in sorted(orphans.items()):
                listed = ", ".join("'" + _sql(f) + "'" for f in sorted(files))
                ctx.lakehouse.delete(name, f"_batch_id = {batch_id} AND _source_file IN ({listed})")

    def new_files(self, ctx: RunContext, source: Source) -> list[Candidate]:
        """Files of the source whose content has not been ingested for it under their name yet.

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
            seen_stat.add((r["path"], r["size"], r["modified_at"]))
            seen_sha.add((r["path"], r["sha256"]))
            if r["status"] in ("ingested", "redelivered", "replayed") and r["size"]:
                first_of.setdefault(r["sha256"], r["path"])
            if r["status"] in DELIVERED:
                content_of[r["path"]] = r["sha256"]
        out = []
        for path in source.files(ctx.landing):
            stat = path.stat()
            relative, odd_name = _printable(path.relative_to(ctx.landing).as_posix())
            modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
            if (relative, stat.st_size, modified) in seen_stat:
                continue
            cand = Candidate(path, relative, stat.st_size, modified, _sha256(path))
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
                cand.note = _notes(cand.note, "file name is not valid UTF-8: kept with \\x escapes")
            out.append(cand)
        return out

    def replays(self, ctx: RunContext, source: Source) -> list[Candidate]:
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

    def read_file(
        self, ctx: RunContext, source: Source, cand: Candidate, schema: pa.Schema
    ) -> tuple[pa.Table, pa.Table, str]:
        """Parse, map onto the contract fields and add audit columns; returns the rows, the
        rejected lines and the file's schema change (``""`` when it has exactly the fields).

        Columns that are not contract fields follow the source's ``on_new_columns`` policy.
        The file name never enters SQL: audit columns are added with Arrow.
        """
        parsed = self.parse(ctx, source, cand.path)
        if parsed.rows.num_rows == 0 and parsed.rejects.num_rows == 0:
            raise SourceFileError(str(cand.path), "header only: no data rows")
        items, missing, rescued = source.select_list(parsed.columns)
        # no columns known (JSON lines without one object): no schema to judge, lines rejected
        optional = source.missing_optional(parsed.columns) if parsed.columns else []
        if missing and parsed.columns:
            raise SchemaMismatch(
                str(cand.path),
                f"missing required column(s) {', '.join(missing)}; header has {', '.join(parsed.columns)}",
                _change(f"missing required: {', '.join(missing)}", optional=optional),
            )
        if rescued and source.on_new_columns == "fail":
            raise SchemaMismatch(
                str(cand.path),
                f"unexpected column(s) {', '.join(rescued)} "
                f"(sources.{source.name}.on_new_columns: fail)",
                _change(f"rejected: {', '.join(rescued)}", optional=optional),
            )
        added: list[str] = []
        if source.on_new_columns == "add":
            added, rescued = _addable(ctx, source, schema, rescued)
        rescue = (
            "to_json(struct_pack(" + ", ".join(f"{quote(c)} := {quote(c)}" for c in rescued) + "))"
            if rescued
            else "NULL"
        )
        ctx.engine.register("_file_rows", parsed.rows)
        mapped = ctx.engine.fetch(
            f"SELECT {', '.join(items)}, CAST({rescue} AS VARCHAR) AS _rescued_data, _source_row"
            + "".join(f", CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in added)
            + " FROM _file_rows ORDER BY _source_row"
        )
        n = mapped.num_rows
        audit = {
            "_source_file": pa.array([cand.relative] * n, pa.string()),
            "_ingested_at": pa.array([ctx.started_at] * n, pa.timestamp("us")),
            "_batch_id": pa.array([ctx.batch_id] * n, pa.int64()),
            "_delivered_at": pa.array([cand.modified_at] * n, pa.timestamp("us")),
        }
        out = pa.schema(list(schema) + [pa.field(c, pa.string()) for c in added])
        good = pa.table(
            [audit[f.name] if f.name in audit else mapped.column(f.name).cast(f.type) for f in out],
            schema=out,
        )
        n = parsed.rejects.num_rows
        rejects = pa.table(
            {
                "_source_file": pa.array([cand.relative] * n, pa.string()),
                "_source_row": parsed.rejects.column("_source_row"),
                "line_text": parsed.rejects.column("line_text"),
                "reason": parsed.rejects.column("reason"),
                "_ingested_at": pa.array([ctx.started_at] * n, pa.timestamp("us")),
                "_batch_id": pa.array([ctx.batch_id] * n, pa.int64()),
                "_run_id": pa.array([ctx.run_id] * n, pa.string()),
            },
            schema=REJECTS,
        )
        change = _change(
            f"added: {', '.join(added)}" if added else "",
            f"new columns rescued: {', '.join(rescued)}" if rescued else "",
            optional=optional,
        )
        return good, rejects, change

    @staticmethod
    def parse(ctx: RunContext, source: Source, path: Path) -> ParsedFile:
        opts = source.options
        if source.format == "csv":
            return parse_csv(
                path, CsvOptions(opts.delimiter, opts.quote, opts.encoding, opts.header)
            )
        if source.format == "parquet":
            return parse_parquet(path)
        return ctx.engine.parse_jsonl(str(path), opts.encoding)

    @staticmethod
    def keep_raw(ctx: RunContext, source: Source, cand: Candidate) -> str:
        """Copy the file, unchanged, under ``_raw/<source>/<ingest date>/``; returns the path."""
        day = ctx.started_at.date().isoformat()
        dest = (
            ctx.lakehouse.raw_dir
            / source.name
            / f"ingest_date={day}"
            / (f"{cand.sha256[:12]}_{PurePosixPath(cand.relative).name}")
        )
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(dest.suffix + ".partial")
            shutil.copyfile(cand.path, tmp)
            tmp.replace(dest)
        return dest.relative_to(ctx.lakehouse.root).as_posix()


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


def _sql(text: str) -> str:
    return text.replace("'", "''")


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
    )


def _commit(
    ctx: RunContext,
    name: str,
    data: pa.Table,
    batch: _Batch,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write one batch's rows (or rejects) to ``name`` as :meth:`IngestStrategy.flush` says.

    The commit names the batch's files (see :func:`_logged_last`).
    """
    lakehouse = ctx.lakehouse
    metadata = {**(metadata or {}), FILES_KEY: json.dumps([ctx.batch_id, sorted(batch.paths)])}
    if ctx.full_refresh and batch.first:
        lakehouse.write(name, data, "overwrite", metadata=metadata)
    elif batch.replaying and not ctx.full_refresh and lakehouse.exists(name):
        listed = ", ".join("'" + _sql(p) + "'" for p in sorted(batch.paths))
        where = f"_source_file IN ({listed})"
        if data.num_rows:
            lakehouse.write(name, data, "overwrite", predicate=where, metadata=metadata)
        else:
            lakehouse.delete(name, where)
    elif data.num_rows or not lakehouse.exists(name):
        lakehouse.write(name, data, "append", metadata=metadata)


def _logged_last(ctx: RunContext, name: str, logged: set[tuple[str, int]]) -> bool:
    """Whether the table's latest commit is an ingestion whose files are all in the log.

    Then no earlier commit can hold orphans either: each run removes them before it ingests,
    and a run that commits again logged its files in between. Any other latest commit (a
    deletion, a commit by an older version) is checked row by row.
    """
    named = ctx.lakehouse.last_commit(name).get(FILES_KEY)
    if not isinstance(named, str):
        return False
    batch_id, paths = json.loads(named)
    return all((p, batch_id) in logged for p in paths)


def _notes(*parts: str) -> str:
    return "; ".join(dict.fromkeys(p for p in parts if p))  # each note once, in order


def _summary(counts: dict[str, int]) -> str:
    """``"40 replayed from raw, 2 new files, 1 duplicate, 1 redelivery"`` (only what happened)."""
    parts = []
    if counts.get("replayed"):
        parts.append(f"{counts['replayed']} replayed from raw")
    if counts.get("ingested"):
        n = counts["ingested"]
        parts.append(f"{n} new file{'s' if n != 1 else ''}")
    if counts.get("duplicate"):
        n = counts["duplicate"]
        parts.append(f"{n} duplicate{'s' if n != 1 else ''}")
    if counts.get("redelivered"):
        n = counts["redelivered"]
        parts.append(f"{n} redeliver{'ies' if n != 1 else 'y'}")
    return ", ".join(parts)


class SchemaMismatch(SourceFileError):
    """A file refused for its columns; ``change`` is what ``_system.files`` reports of them."""

    def __init__(self, path: str, reason: str, change: str):
        super().__init__(path, reason)
        self.change = change


def _change(*parts: str, optional: list[str]) -> str:
    """A file's schema change as ``_system.files`` reports it, e.g. ``added: loyalty_points``."""
    if optional:
        parts = (*parts, f"missing optional: {', '.join(optional)}")
    return "; ".join(p for p in parts if p)


def _addable(
    ctx: RunContext, source: Source, schema: pa.Schema, new: list[str]
) -> tuple[list[str], list[str]]:
    """New columns that can become bronze columns, and those that must stay rescued.

    Delta column names are case-insensitive: a new column whose name differs only in case
    from a contract field, an audit column or a column bronze already has under another
    spelling is rescued instead.
    """
    fixed = {n.lower() for n in schema.names}
    existing: dict[str, str] = {}
    name = f"bronze.{source.name}"
    if new and ctx.lakehouse.exists(name):
        existing = {f.name.lower(): f.name for f in ctx.lakehouse.dataset(name).schema}
    added: list[str] = []
    rescued: list[str] = []
    for c in new:
        clash = c.lower() in fixed or existing.get(c.lower(), c) != c
        (rescued if clash else added).append(c)
    return added, rescued


def note_change(result: TableResult, change: str) -> None:
    """Add a file's schema change to the table's progress note (each distinct change once)."""
    if change and change not in result.note.split("; "):
        result.note = f"{result.note}; {change}" if result.note else change

"""The ``ingest`` kind: new landing files appended to bronze exactly once, raw copies kept,
malformed lines kept (the stages are in :mod:`lakeshop.pipeline.ingest`)."""

from __future__ import annotations

import logging
from typing import Any

from lakeshop.core.errors import LakeshopError, SourceFileError
from lakeshop.core.logs import get_logger
from lakeshop.core.redact import without_values
from lakeshop.pipeline import interrupt
from lakeshop.pipeline.changes import fingerprint
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.ingest.commit import (
    FLUSH_ROWS,
    PATHS_PER_COMMIT,
    Batch,
    drop_orphans,
    flush,
    keep_raw,
)
from lakeshop.pipeline.ingest.discovery import Candidate, join_notes, to_read
from lakeshop.pipeline.ingest.lookup import Lookups
from lakeshop.pipeline.ingest.mapping import SchemaMismatch, bronze_schema, note_change, read_file
from lakeshop.pipeline.jail import OUTSIDE, ChangedWhileRead, matching
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.sources import Source
from lakeshop.pipeline.strategies.base import Inputs, Strategy

#: why a file listed in landing was not read (``_system.files.error``)
VANISHED = "vanished: deleted or moved between listing and reading; read when it lands again"
#: why a file that changed while it was read (still being written) is not kept (``vanished``)
CHANGED = "vanished: changed while being read (still being written?); read again by the next run"
#: statuses of files listed but not read (nothing to parse)
NOT_READ = ("duplicate", "vanished")
#: statuses a file not read keeps (any other becomes ``error``)
QUIET = ("duplicate", "replayed", "vanished")
#: files handed to the engine to parse together (Spark: one executor task each); a stop
#: waits for at most this many files' parsing
PARSE_AHEAD = 32
#: the logger of the file lines (its name from before ingestion was split in stages)
log = get_logger("lakeshop.pipeline.ingest")


class IngestStrategy(Strategy):
    """Appends the rows of files not ingested before; unreadable files are recorded, not fatal."""

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        if table.source not in ctx.sources:
            raise LakeshopError(f"table {table.name}: source '{table.source}' is not configured")
        source = ctx.sources[table.source]
        drop_orphans(ctx, table, source)
        result = TableResult()
        schema = bronze_schema(source)
        batch = Batch(first=True)
        counts: dict[str, int] = {}
        configured = fingerprint(source)
        lookups = Lookups(ctx, source)
        listed, links_out = matching(ctx.landing, source.path)  # listed once per run
        for link in links_out:
            relative = link.relative_to(ctx.landing).as_posix()
            result.refused[relative] = OUTSIDE
            log.warning(
                "file refused", extra={"table": table.name, "path": relative, "error": OUTSIDE}
            )
        cands = to_read(ctx, source, listed)
        for i, cand in enumerate(cands):
            if interrupt.requested():  # a safe point: the files read so far are committed below
                break
            if i % PARSE_AHEAD == 0:
                _parse_ahead(ctx, source, cands[i : i + PARSE_AHEAD])
            replaying = cand.status == "replayed"
            if not batch.log:
                batch.replaying = replaying
            elif replaying != batch.replaying or (
                cand.relative not in batch.paths
                and (batch.size >= FLUSH_ROWS or len(batch.paths) >= PATHS_PER_COMMIT)
            ):
                flush(ctx, table, schema, batch)
                batch = Batch(replaying=replaying)
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
                "config_fingerprint": configured,
                "rows_filtered": 0,
            }
            try:
                if cand.status in NOT_READ:
                    raise SourceFileError(str(cand.path), cand.note or VANISHED)
                read = read_file(ctx, source, cand, schema, lookups)
                good, bad, change = read.rows, read.rejects, read.change
                if not cand.raw_path:  # a landing file: the rows read are the bytes hashed
                    cand.raw_path = keep_raw(ctx, source, cand, verify=True)
            except (SourceFileError, FileNotFoundError, ChangedWhileRead) as caught:
                exc = caught
                from_landing = cand.status != "replayed" and not cand.retry
                if isinstance(exc, ChangedWhileRead):  # not read: the next run reads it
                    cand.status, exc = "vanished", SourceFileError(str(cand.path), CHANGED)
                elif from_landing and not cand.path.exists():
                    cand.status, exc = "vanished", SourceFileError(str(cand.path), VANISHED)
                if not isinstance(exc, SourceFileError):
                    raise  # a raw copy or a lookup file gone: the table fails, as before
                change = exc.change if isinstance(exc, SchemaMismatch) else ""
                status = cand.status if cand.status in QUIET else "error"
                entry.update(status=status, error=join_notes(cand.note, exc.reason))
                if status not in NOT_READ:
                    result.refused[cand.relative] = exc.reason
                log.log(
                    logging.INFO if status == "duplicate" else logging.WARNING,
                    f"file {status}",
                    extra={"table": table.name, "path": cand.relative, "error": entry["error"]},
                )
            except LakeshopError as exc:  # the engine failed on this file: no value in the message
                raise LakeshopError(f"file {cand.relative}: {without_values(str(exc))}") from exc
            else:
                batch.rows.append(good)
                batch.rejects.append(bad)
                entry.update(
                    status=cand.status,
                    error=cand.note or None,
                    rows=good.num_rows,
                    rejected_lines=bad.num_rows,
                    rows_filtered=read.filtered,
                    lookups=read.lookups,
                )
                result.rows_written += good.num_rows
                result.rows_quarantined += bad.num_rows
                result.rows_filtered += read.filtered
                log.info(
                    f"file {cand.status}",
                    extra={
                        "table": table.name,
                        "path": cand.relative,
                        "rows": good.num_rows,
                        "rejected_lines": bad.num_rows,
                        "rows_filtered": read.filtered,
                    },
                )
            entry["schema_change"] = change or None
            note_change(result, change)
            if cand.status != "vanished":  # a vanished file has nothing to copy
                entry["raw_path"] = cand.raw_path or keep_raw(ctx, source, cand)
            batch.log.append(entry)
            result.files += 1
            counted = "retried" if cand.retry else cand.status
            counts[counted] = counts.get(counted, 0) + 1
        flush(ctx, table, schema, batch)
        result.rows_in = result.rows_written + result.rows_quarantined + result.rows_filtered
        result.note = join_notes(_summary(counts), result.note)
        return result


def _parse_ahead(ctx: RunContext, source: Source, cands: list[Candidate]) -> None:
    """Tell the engine the files read next (those it will be asked to parse)."""
    paths = [c.path for c in cands if c.status not in NOT_READ]
    ctx.engine.parse_ahead(paths, source.format, source.options.csv())


def _summary(counts: dict[str, int]) -> str:
    """``"40 replayed from raw, 2 new files, 1 tried again from raw, 1 duplicate, 1 redelivery"`` (only what happened)."""
    parts = []
    if counts.get("replayed"):
        parts.append(f"{counts['replayed']} replayed from raw")
    if counts.get("ingested"):
        n = counts["ingested"]
        parts.append(f"{n} new file{'s' if n != 1 else ''}")
    if counts.get("retried"):
        parts.append(f"{counts['retried']} tried again from raw")
    if counts.get("duplicate"):
        n = counts["duplicate"]
        parts.append(f"{n} duplicate{'s' if n != 1 else ''}")
    if counts.get("redelivered"):
        n = counts["redelivered"]
        parts.append(f"{n} redeliver{'ies' if n != 1 else 'y'}")
    return ", ".join(parts)

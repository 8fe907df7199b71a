"""Committing an ingestion: bronze rows, rejects and ``_system.files`` entries per batch of
files, raw copies kept, and the rows of a killed run's unlogged commit removed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from lakeshop.core.sqltext import compare, isin
from lakeshop.engines.arrow_rows import empty_table
from lakeshop.pipeline import system
from lakeshop.pipeline.context import RunContext
from lakeshop.pipeline.ingest.discovery import Candidate
from lakeshop.pipeline.ingest.mapping import REJECTS
from lakeshop.pipeline.jail import copy_private
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.sources import Source

#: rows held in memory before a commit: ingestion memory stays bounded whatever the backlog
FLUSH_ROWS = 500_000
#: most files whose rows one replay commit replaces (they are listed in its Delta predicate)
PATHS_PER_COMMIT = 200
#: commit metadata of an ingestion: ``[batch id, [paths of the files it holds]]``
FILES_KEY = "lakeshop.ingested_files"


@dataclass
class Batch:
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


def flush(ctx: RunContext, table: Table, schema: pa.Schema, batch: Batch) -> None:
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
            else empty_table(schema)
        )
        _commit(ctx, table.name, data, batch, metadata={"lakeshop.run_id": ctx.run_id})
    if batch.rejects or not lakehouse.exists(table.rejects) or batch.first or batch.replaying:
        bad = pa.concat_tables(batch.rejects) if batch.rejects else empty_table(REJECTS)
        _commit(ctx, table.rejects, bad, batch)
    system.append(lakehouse, system.FILES, batch.log)


def _commit(
    ctx: RunContext,
    name: str,
    data: pa.Table,
    batch: Batch,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write one batch's rows (or rejects) to ``name`` as :func:`flush` says.

    The commit names the batch's files (see :func:`_logged_last`).
    """
    lakehouse = ctx.lakehouse
    metadata = {**(metadata or {}), FILES_KEY: json.dumps([ctx.batch_id, sorted(batch.paths)])}
    if ctx.full_refresh and batch.first:
        lakehouse.write(name, data, "overwrite", metadata=metadata)
    elif batch.replaying and not ctx.full_refresh and lakehouse.exists(name):
        where = isin("_source_file", sorted(batch.paths))
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
            of_batch = compare("_batch_id", "=", batch_id)
            ctx.lakehouse.delete(name, f"{of_batch} AND {isin('_source_file', sorted(files))}")


def keep_raw(ctx: RunContext, source: Source, cand: Candidate, verify: bool = False) -> str:
    """Copy the file, unchanged (``0600``/``0640``), under ``_raw/<source>/<ingest date>/``;
    returns the path. ``verify``: the file read from landing must still be the bytes hashed
    when it was listed (a file being written raises ``ChangedWhileRead``, nothing kept)."""
    day = ctx.started_at.date().isoformat()
    dest = (
        ctx.lakehouse.raw_dir
        / source.name
        / f"ingest_date={day}"
        / (f"{cand.sha256[:12]}_{PurePosixPath(cand.relative).name}")
    )
    if not dest.exists():
        copy_private(cand.path, dest, cand.sha256 if verify else None)
    return dest.relative_to(ctx.lakehouse.root).as_posix()

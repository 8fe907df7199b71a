"""A landing file mapped onto its source's contract: parsed, joined with its lookups,
filtered by its ``where``, columns selected and typed as text, audit columns added, rejected
lines kept, the schema change named."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlglot

from lakeshop.core.errors import SourceFileError
from lakeshop.core.redact import shown
from lakeshop.core.sqltext import ident
from lakeshop.engines import storage
from lakeshop.engines.files import ParsedFile
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.ingest.discovery import Candidate
from lakeshop.pipeline.ingest.lookup import Lookups
from lakeshop.pipeline.sources import Source

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


@dataclass
class ReadFile:
    """A landing file read for bronze."""

    rows: pa.Table
    rejects: pa.Table
    #: the file's schema change (``""`` when it has exactly the fields)
    change: str
    #: rows the source's ``where`` left out
    filtered: int = 0
    #: the lookup files joined (``_system.files.lookups``), None without lookups
    lookups: str | None = None


def read_file(
    ctx: RunContext, source: Source, cand: Candidate, schema: pa.Schema, lookups: Lookups
) -> ReadFile:
    """Parse, join the lookups, filter by ``where``, map onto the contract fields and add
    audit columns.

    Columns that are not contract fields follow the source's ``on_new_columns`` policy.
    The file name never enters SQL: audit columns are added with Arrow.
    """
    parsed = parse(ctx, source, cand.path)
    if parsed.num_rows == 0 and parsed.rejects.num_rows == 0:
        raise SourceFileError(str(cand.path), "header only: no data rows")
    looked_up = source.looked_up()
    items, missing, rescued = source.select_list(parsed.columns, looked_up)
    # no columns known (JSON lines without one object): no schema to judge, lines rejected
    optional = source.missing_optional(parsed.columns, looked_up) if parsed.columns else []
    if missing and parsed.columns:
        raise SchemaMismatch(
            str(cand.path),
            f"missing required column(s) {', '.join(missing)}; header has {shown(parsed.columns)}",
            _change(f"missing required: {', '.join(missing)}", optional=optional),
        )
    if rescued and source.on_new_columns == "fail":
        raise SchemaMismatch(
            str(cand.path),
            f"unexpected column(s) {shown(rescued)} (sources.{source.name}.on_new_columns: fail)",
            _change(f"rejected: {', '.join(rescued)}", optional=optional),
        )
    added: list[str] = []
    if source.on_new_columns == "add":
        added, rescued = _addable(ctx, source, schema, rescued)
    rescue = (
        "to_json(struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in rescued) + "))"
        if rescued
        else "NULL"
    )
    unread = sorted(set(source.where_columns()) - set(parsed.columns) - set(looked_up))
    if unread and parsed.columns:
        raise SchemaMismatch(
            str(cand.path),
            f"missing column(s) {', '.join(unread)} of sources.{source.name}.where; "
            f"header has {shown(parsed.columns)}",
            _change(f"missing for where: {', '.join(unread)}", optional=optional),
        )
    ctx.engine.register_parsed("_file_rows", parsed)
    joined = lookups.join("_file_rows", parsed.columns, cand.lookups, str(cand.path))
    where = (
        f" WHERE ({sqlglot.parse_one(source.where, read='duckdb').sql('duckdb')})"
        if source.where and parsed.columns
        else ""
    )
    mapped = ctx.engine.fetch(
        f"SELECT {', '.join(items)}, CAST({rescue} AS VARCHAR) AS _rescued_data, _source_row"
        + "".join(f", CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in added)
        + f" FROM {joined.relation} AS _file{where} ORDER BY _source_row"
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
    filtered = parsed.num_rows - good.num_rows
    return ReadFile(good, rejects, change, filtered, joined.recorded)


def parse(ctx: RunContext, source: Source, path: Path) -> ParsedFile:
    """The file's rows and rejected lines, parsed by the engine (a raw copy on an object
    store is read from a local copy of it)."""
    with storage.local_copy(path) as local:
        return ctx.engine.parse(local, source.format, source.options.csv())


class SchemaMismatch(SourceFileError):
    """A file refused for its columns; ``change`` is what ``_system.files`` reports of them."""

    def __init__(self, path: str, reason: str, change: str):
        super().__init__(path, reason)
        self.change = change


_MISSING_OPTIONAL = "missing optional: "


def _change(*parts: str, optional: list[str]) -> str:
    """A file's schema change as ``_system.files`` reports it, e.g. ``added: loyalty_points``."""
    if optional:
        parts = (*parts, f"{_MISSING_OPTIONAL}{', '.join(optional)}")
    return "; ".join(p for p in parts if p)


def missing_optional(change: str | None) -> list[str]:
    """The optional fields a file lacked, read back from its schema change (see :func:`_change`)."""
    for part in (change or "").split("; "):
        if part.startswith(_MISSING_OPTIONAL):
            return part.removeprefix(_MISSING_OPTIONAL).split(", ")
    return []


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
    have = result.note.split("; ") if result.note else []
    result.note = "; ".join(have + [p for p in change.split("; ") if p and p not in have])

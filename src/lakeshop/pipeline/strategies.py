"""One strategy per table kind: how its rows are computed, checked, deduplicated and committed."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass

from lakeshop.engines.base import WriteMode
from lakeshop.engines.lakehouse import WATERMARK_KEY
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.expectations import FAILED, QUARANTINED, check
from lakeshop.pipeline.model import Kind, Table

STAGED, CHECKED, VALID, CANDIDATES, WINNERS, OUTPUT = (
    "_in",
    "_checked",
    "_valid",
    "_candidates",
    "_winners",
    "_out",
)
#: columns a strategy owns: a table's SQL may carry them from upstream, they are replaced
OWNED = ("_batch_id", "_row_hash")
ROW_HASH = "_row_hash"


@dataclass(frozen=True)
class Inputs:
    """The upstream tables bound for a run of one table.

    ``driving`` is the upstream bound to its increment only (its watermark is advanced).
    """

    upstream: tuple[str, ...] = ()
    driving: str | None = None


class Strategy(ABC):
    """Maintains one kind of table; the runner binds its upstream tables before calling it."""

    #: whether the driving upstream is bound to its rows new since this table's watermark
    reads_increments = False

    @abstractmethod
    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        """Bring ``table`` up to date and account for every row read."""


class CheckedStrategy(Strategy):
    """Shared steps: stage the SQL, evaluate expectations, send violations to quarantine."""

    def stage_valid(self, table: Table, ctx: RunContext, result: TableResult) -> list[str]:
        """Stage the valid rows of the table's SQL as ``_valid``; returns their columns."""
        engine = ctx.engine
        result.rows_in = engine.stage(STAGED, table.sql)
        result.expectations = check(engine, table, STAGED, CHECKED)
        columns = [c for c in columns_of(ctx, STAGED) if c not in OWNED]
        owned = [c for c in columns_of(ctx, STAGED) if c in OWNED]
        exclude = ", ".join([QUARANTINED, *owned])
        result.rows_quarantined = engine.stage(
            "_quarantine",
            f"SELECT * EXCLUDE ({exclude}), '{ctx.run_id}' AS _run_id, "
            f"CAST({ctx.batch_id} AS BIGINT) AS _batch_id FROM {CHECKED} WHERE {QUARANTINED}",
        )
        # a recompute from scratch replaces its quarantine; an increment adds to it
        rebuild = ctx.full_refresh or table.kind is Kind.MATERIALIZED
        if rebuild or result.rows_quarantined or not ctx.lakehouse.exists(table.quarantine):
            engine.write(table.quarantine, "_quarantine", "overwrite" if rebuild else "append")
        engine.stage(
            VALID,
            f"SELECT * EXCLUDE ({exclude}, {FAILED}) FROM {CHECKED} WHERE NOT {QUARANTINED}",
        )
        return columns

    def commit(
        self,
        table: Table,
        ctx: RunContext,
        relation: str,
        mode: WriteMode,
        watermarks: dict[str, int] | None = None,
    ) -> int:
        """Write ``relation`` with the batch id, and this run's watermarks in the same commit."""
        ctx.engine.stage(
            OUTPUT, f"SELECT *, CAST({ctx.batch_id} AS BIGINT) AS _batch_id FROM {relation}"
        )
        metadata = {"lakeshop.run_id": ctx.run_id}
        if watermarks:
            metadata[WATERMARK_KEY] = json.dumps(watermarks)
        return ctx.engine.write(table.name, OUTPUT, mode, keys=list(table.keys), metadata=metadata)


class MaterializedStrategy(CheckedStrategy):
    """Recomputes the whole table from its upstreams and replaces it atomically.

    Skipped when no upstream has a new version since the last refresh: its watermarks are
    the upstream Delta versions it was computed from.
    """

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        versions = {up: ctx.lakehouse.version(up) or 0 for up in inputs.upstream}
        stored = [up for up in inputs.upstream if ctx.lakehouse.exists(up)]
        if (
            not ctx.full_refresh
            and ctx.lakehouse.exists(table.name)
            and ctx.lakehouse.watermarks(table.name) == {up: versions[up] for up in stored}
        ):
            return TableResult(note="up to date")
        result = TableResult()
        self.stage_valid(table, ctx, result)
        marks = {up: versions[up] for up in stored}
        result.rows_written = self.commit(table, ctx, VALID, "overwrite", marks)
        return result


class _KeyedStrategy(CheckedStrategy):
    """Incremental kinds: new upstream rows, latest version per key, compared with the target."""

    reads_increments = True

    def stage_candidates(self, table: Table, ctx: RunContext, columns: list[str]) -> None:
        """``_candidates``: one row per key (latest by sequence, ties by content hash)."""
        business = [c for c in columns if not c.startswith("_")]
        parts = ", ".join(f"COALESCE(CAST(\"{c}\" AS VARCHAR), '\\N')" for c in business)
        keys = ", ".join(f'"{k}"' for k in table.keys)
        order = f'"{table.sequence}" DESC NULLS LAST, ' if table.sequence else ""
        # identical versions: the first delivered keeps its lineage, as in a run per file
        lineage = [c for c in ("_source_file", "_source_row") if c in columns]
        first = "".join(f", {c}" for c in lineage)
        ctx.engine.stage(
            CANDIDATES,
            f"SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {order}{ROW_HASH} DESC{first}) AS _rn FROM (SELECT *, "
            f"md5(concat_ws('|', {parts})) AS {ROW_HASH} FROM {VALID})) WHERE _rn = 1",
        )

    def target_join(self, table: Table) -> str:
        return " AND ".join(f't."{k}" = c."{k}"' for k in table.keys)

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        result = TableResult()
        columns = self.stage_valid(table, ctx, result)
        valid = result.rows_in - result.rows_quarantined
        if result.rows_in == 0 and ctx.lakehouse.exists(table.name):
            return result
        self.stage_candidates(table, ctx, columns)
        replace = ctx.full_refresh or not ctx.lakehouse.exists(table.name)
        if replace:
            ctx.engine.stage(WINNERS, f"SELECT * FROM {CANDIDATES}")
        else:
            ctx.engine.bind_table(table.name)
            ctx.engine.stage(WINNERS, self.winners_sql(table))
        mode: WriteMode = "overwrite" if replace else self.write_mode
        marks = {inputs.driving: ctx.batch_id} if inputs.driving else None
        result.rows_written = self.commit(table, ctx, WINNERS, mode, marks)
        result.rows_deduplicated = valid - result.rows_written
        return result

    write_mode: WriteMode = "append"

    @abstractmethod
    def winners_sql(self, table: Table) -> str:
        """Candidates that change the existing target table."""


class UpsertStrategy(_KeyedStrategy):
    """SCD1: the latest version per key wins; an older or identical version changes nothing."""

    write_mode: WriteMode = "merge"

    def winners_sql(self, table: Table) -> str:
        seq = f'"{table.sequence}"' if table.sequence else None
        newer = (
            f"c.{seq} > t.{seq} OR (c.{seq} = t.{seq} AND c.{ROW_HASH} > t.{ROW_HASH})"
            if seq
            else f"c.{ROW_HASH} <> t.{ROW_HASH}"
        )
        first_key = f'"{table.keys[0]}"'
        return (
            f"SELECT c.* FROM {CANDIDATES} c LEFT JOIN {table.name} t ON {self.target_join(table)} "
            f"WHERE t.{first_key} IS NULL OR {newer}"
        )


class AppendStrategy(_KeyedStrategy):
    """Immutable events: a key already present is a re-send and is not appended again."""

    def winners_sql(self, table: Table) -> str:
        return (
            f"SELECT c.* FROM {CANDIDATES} c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {table.name} t WHERE {self.target_join(table)})"
        )


class ViewStrategy(Strategy):
    """Stores nothing: the SQL is checked to run, readers compute it on demand."""

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        ctx.engine.fetch(f"SELECT * FROM ({table.sql}) AS v LIMIT 0")
        return TableResult(note="view")


def strategy_for(kind: Kind) -> Strategy:
    """The strategy that maintains tables of ``kind`` (ingest lives in its own module)."""
    from lakeshop.pipeline.ingest import IngestStrategy

    strategies: dict[Kind, Strategy] = {
        Kind.INGEST: IngestStrategy(),
        Kind.UPSERT: UpsertStrategy(),
        Kind.APPEND: AppendStrategy(),
        Kind.MATERIALIZED: MaterializedStrategy(),
        Kind.VIEW: ViewStrategy(),
    }
    return strategies[kind]


def columns_of(ctx: RunContext, relation: str) -> list[str]:
    """Column names of a staged relation."""
    return list(ctx.engine.fetch(f'SELECT * FROM "{relation}" LIMIT 0').column_names)

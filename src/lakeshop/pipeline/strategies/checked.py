"""Steps shared by the checked kinds: expectations, quarantine, held rows, the commit."""

from __future__ import annotations

import json

from lakeshop.core import sqltext
from lakeshop.core.sqltext import ident, literal
from lakeshop.engines.base import WriteMode
from lakeshop.engines.commit_info import WATERMARK_KEY
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.expectations import FAILED, QUARANTINED, RETRY, check
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.strategies.base import (
    CHECKED,
    FRESH,
    KEPT,
    MERGED,
    OUTPUT,
    OWNED,
    RELEASED_KEY,
    VALID,
    Strategy,
    columns_of,
)


class CheckedStrategy(Strategy):
    """Shared steps: stage the SQL, evaluate expectations, send violations to quarantine."""

    def stage_valid(
        self,
        table: Table,
        ctx: RunContext,
        result: TableResult,
        sql: str | None = None,
        replace_quarantine: bool = False,
        held: bool = False,
    ) -> list[str]:
        """Stage the valid rows of the table's SQL as ``_valid``; returns their columns.

        Columns named ``_raw_*`` (text before parsing) are kept in quarantine only. The
        quarantine is replaced when the table is recomputed from scratch, replaced where
        recomputed in part (``replace_quarantine``: such tables have no ``drop`` expectations,
        their quarantine stays empty), and appended to otherwise.
        """
        engine = ctx.engine
        source = sql or table.sql
        if held:
            fresh = engine.stage(FRESH, source)
            source = self.with_held(table, ctx)
        checked = check(engine, table, source, CHECKED)
        result.rows_in = checked.rows
        result.expectations = checked.counts
        if held:
            result.retried = result.rows_in - fresh
        verdict = [*checked.flags, FAILED, QUARANTINED, RETRY]
        staged = [c for c in columns_of(ctx, CHECKED) if c not in verdict]
        owned = [c for c in staged if c in OWNED]
        raw = [c for c in staged if c.startswith("_raw_")]
        columns = [c for c in staged if c not in OWNED and c not in raw]
        exclude = ", ".join([QUARANTINED, *checked.flags, *owned])
        result.rows_quarantined = engine.stage(
            "_quarantine",
            f"SELECT * EXCLUDE ({exclude}), {literal(ctx.run_id)} AS _run_id, "
            f"CAST({ctx.batch_id} AS BIGINT) AS _batch_id FROM {CHECKED} WHERE {QUARANTINED}",
        )
        rebuild = ctx.full_refresh or (table.kind is Kind.MATERIALIZED and not replace_quarantine)
        exists = ctx.lakehouse.exists(table.quarantine)
        if rebuild or not exists:
            engine.write(table.quarantine, "_quarantine", "overwrite")
        elif result.rows_quarantined and not replace_quarantine:
            # rows read again (a replay, or the run after a replay or run that failed after
            # the quarantine's commit) are quarantined once
            result.rows_quarantined = self.not_yet_quarantined(table, ctx, held)
            if result.rows_quarantined:
                engine.write(table.quarantine, "_quarantine", "append")
        dropped = ", ".join([exclude, FAILED, RETRY, *raw])
        # read once or twice downstream, always filtered: a view, not a copy
        engine.stage_view(
            VALID, f"SELECT * EXCLUDE ({dropped}) FROM {CHECKED} WHERE NOT {QUARANTINED}"
        )
        return columns

    @staticmethod
    def not_yet_quarantined(table: Table, ctx: RunContext, held: bool) -> int:
        """Keep in ``_quarantine`` only rows the quarantine does not hold yet (by content);
        returns how many. A replay, or a run after a run that failed between the quarantine's
        commit and the table's, reads rows again that were already quarantined; held rows
        this run releases (see :meth:`release_held`) do not count as held."""
        columns = [c for c in columns_of(ctx, "_quarantine") if c not in ("_run_id", "_batch_id")]
        listed = sqltext.columns(columns)
        released = f" WHERE NOT ({RETRY} AND _batch_id < {ctx.batch_id})" if held else ""
        ctx.engine.bind_table(table.quarantine)
        ctx.engine.stage(
            "_quarantined_new",
            f"SELECT {listed} FROM _quarantine EXCEPT SELECT {listed} FROM {table.quarantine}{released}",
        )
        return ctx.engine.stage(
            "_quarantine",
            f"SELECT {listed}, {literal(ctx.run_id)} AS _run_id, "
            f"CAST({ctx.batch_id} AS BIGINT) AS _batch_id FROM _quarantined_new",
        )

    @staticmethod
    def with_held(table: Table, ctx: RunContext) -> str:
        """The rows staged as ``_fresh`` plus the quarantined rows held for another try (see
        Expectation).

        Identical held rows (left twice by a run killed between its commits) count once.
        """
        columns = columns_of(ctx, FRESH)
        ctx.engine.bind_table(table.quarantine)
        held = ", ".join(ident(c) if c not in OWNED else f"NULL AS {ident(c)}" for c in columns)
        listed = sqltext.columns(columns)
        return (
            f"SELECT {listed} FROM {FRESH} UNION ALL SELECT DISTINCT {held} "
            f"FROM {table.quarantine} WHERE {RETRY}"
        )

    @staticmethod
    def release_held(table: Table, ctx: RunContext, below: int | None = None) -> None:
        """Remove the held rows this run (or batch ``below``) evaluated again (those still
        failing were re-added).

        It comes after the table's commit, which records the release (``RELEASED_KEY``): a run
        killed in between leaves it to the next run (:meth:`KeyedStrategy.finish_release`).
        """
        batch = ctx.batch_id if below is None else below
        ctx.lakehouse.delete(table.quarantine, f"{RETRY} AND _batch_id < {batch}")

    def commit(
        self,
        table: Table,
        ctx: RunContext,
        relation: str,
        mode: WriteMode,
        watermarks: dict[str, int] | None = None,
        predicate: str | None = None,
        kept: bool = False,
        released: bool = False,
    ) -> int:
        """Write ``relation`` with the batch id, and this run's watermarks in the same commit.

        ``released``: the commit records that the held quarantine rows of earlier batches were
        evaluated again by this one (see :meth:`CheckedStrategy.release_held`).

        Rows of a table recomputed by ``incremental_by`` are written in that column's order:
        each file then holds a narrow range of it, and a later partial recompute rewrites only
        the files of the values it replaces (see :meth:`MaterializedStrategy.range_plan`).
        Rows of an upsert table are written in the order of its first key, for the same reason:
        a merge rewrites only the files whose key range holds a changed key.
        """
        column = table.incremental_by or (table.keys[0] if table.kind is Kind.UPSERT else None)
        order = f" ORDER BY {ident(column)}" if column else ""
        batch = f"CAST({ctx.batch_id} AS BIGINT)"
        # ``kept``: rows written again unchanged carry their batch in ``_kept_batch``; they keep
        # it, so that tables downstream do not see them as changed
        columns = f"* EXCLUDE ({KEPT}), COALESCE({KEPT}, {batch})" if kept else f"*, {batch}"
        output = f"SELECT {columns} AS _batch_id FROM {relation}{order}"
        metadata = {"lakeshop.run_id": ctx.run_id}
        if released:
            metadata[RELEASED_KEY] = str(ctx.batch_id)
        if watermarks:
            metadata[WATERMARK_KEY] = json.dumps(watermarks)
        if mode == "merge":
            # a merge reads its source more than once, and a merge of nothing may not commit
            # (the watermark must): staged
            written = MERGED
            if not ctx.engine.stage(written, output):
                mode = "append"
        else:
            written = OUTPUT
            ctx.engine.stage_view(written, output)  # streamed into the write, computed once
        return ctx.engine.write(
            table.name,
            written,
            mode,
            keys=list(table.keys),
            predicate=predicate,
            metadata=metadata,
        )

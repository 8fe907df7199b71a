"""The ``materialized`` kind: recomputed from its upstreams, whole or where they changed."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakeshop.core.sqltext import all_equal, delta_literal, ident, join_on, literal
from lakeshop.engines.lakehouse import DELETE_FLAG
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import (
    KEPT,
    VALID,
    Inputs,
    columns_of,
    latest_batch,
    logged_batches_within,
)
from lakeshop.pipeline.strategies.checked import CheckedStrategy

#: most values a partial recompute lists in a Delta predicate; beyond, it merges by key
PREDICATE_LIMIT = 500
#: a partial recompute may write again up to this many unchanged rows per changed row
#: rather than merge (a predicate overwrite of sorted files beats delta-rs' merge)
RANGE_BUDGET = 4


class MaterializedStrategy(CheckedStrategy):
    """Computes the table from its upstreams: whole, or only the values upstream changes touch.

    Its watermarks are the batch each stored upstream was read up to. When no upstream has
    rows of a later batch the table is up to date and nothing runs. With ``incremental_by``,
    the values of that column touched by the changed upstream rows are recomputed and replace
    theirs in one commit; otherwise, or when a change is not covered by ``touched``, the whole
    table is recomputed and replaced.
    """

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        return self.refresh(table, ctx, inputs, table.sql)

    def idle(self, table: Table, ctx: RunContext, inputs: Inputs) -> bool:
        """No upstream has rows of a batch after the table's watermark for it: what
        :meth:`refresh` finds "up to date", read from the logs before anything is bound."""
        if ctx.full_refresh or not ctx.lakehouse.exists(table.name):
            return False
        seen = ctx.lakehouse.watermarks(table.name)
        return logged_batches_within(ctx, {up: seen.get(up, -1) for up in inputs.upstream})

    def refresh(
        self, table: Table, ctx: RunContext, inputs: Inputs, sql: str, partial: str | None = None
    ) -> TableResult:
        """Bring ``table`` up to date: ``sql`` computes all of it, ``partial`` (default
        ``sql``) the rows a partial recompute filters by ``incremental_by``."""
        marks = {up: ctx.batch_id for up in inputs.upstream}
        if ctx.full_refresh or not ctx.lakehouse.exists(table.name):
            return self.replace_all(table, ctx, sql, marks)
        seen = ctx.lakehouse.watermarks(table.name)
        changed = {
            up: seen.get(up, -1)
            for up in inputs.upstream
            if latest_batch(ctx, up) > seen.get(up, -1)
        }
        if not changed:
            return TableResult(note="up to date")
        if table.incremental_by is None or not set(changed) <= set(table.touched):
            return self.replace_all(table, ctx, sql, marks)
        return self.replace_touched(table, ctx, partial or sql, changed, marks)

    def replace_all(
        self, table: Table, ctx: RunContext, sql: str, marks: dict[str, int]
    ) -> TableResult:
        result = TableResult()
        self.stage_valid(table, ctx, result, sql)
        result.rows_written = self.commit(table, ctx, VALID, "overwrite", marks)
        return result

    def replace_touched(
        self,
        table: Table,
        ctx: RunContext,
        sql: str,
        changed: dict[str, int],
        marks: dict[str, int],
    ) -> TableResult:
        """Recompute the rows whose ``incremental_by`` value the upstream changes touch."""
        assert table.incremental_by is not None  # refresh() recomputes a table without it whole
        by = ident(table.incremental_by)
        parts = []
        for i, (up, mark) in enumerate(sorted(changed.items())):
            ctx.engine.bind_table(up, where=f"_batch_id > {mark}")
            ctx.engine.stage(f"_touched_{i}", table.touched[up])
            ctx.engine.bind_table(up)
            first = columns_of(ctx, f"_touched_{i}")[0]
            parts.append(f"SELECT {ident(first)} AS v FROM _touched_{i}")
        touched = ctx.engine.fetch(
            f"SELECT DISTINCT v FROM ({' UNION ALL '.join(parts)}) AS t WHERE v IS NOT NULL ORDER BY v"
        ).column(0)
        result = TableResult()
        ctx.engine.register("_touched", _values_table(touched))
        restricted = f"SELECT * FROM ({sql}) AS t WHERE {by} IN (SELECT v FROM _touched)"
        for up, expr in table.scope.items():
            ctx.engine.bind_table(up, where=f"({expr}) IN (SELECT v FROM _touched)")
        try:
            self.stage_valid(table, ctx, result, restricted, replace_quarantine=True)
        finally:
            for up in table.scope:
                ctx.engine.bind_table(up)
        # only values whose rows really differ are rewritten: unchanged rows keep their batch,
        # so tables downstream see no change there either
        ctx.engine.bind_table(table.name)
        # the lowest touched value as a literal too: files are sorted by the column, and a
        # constant bound lets the scan skip those below it (a semi-join alone reads them all)
        lowest = f" AND {by} >= {literal(touched[0].as_py())}" if len(touched) else ""
        current = (
            f"SELECT * EXCLUDE (_batch_id) FROM {table.name} "
            f"WHERE {by} IN (SELECT v FROM _touched){lowest}"
        )
        ctx.engine.stage("_differs", _differing(table, ctx, current))
        differs = ctx.engine.fetch("SELECT v FROM _differs ORDER BY v").column(0)
        ctx.engine.stage(
            "_rewrite", f"SELECT * FROM {VALID} WHERE {by} IN (SELECT v FROM _differs)"
        )
        rewritten = int(ctx.engine.fetch("SELECT count(*) FROM _rewrite").column(0)[0].as_py())
        result.rows_written = rewritten
        result.rows_deduplicated = result.rows_in - result.rows_quarantined - rewritten
        result.note = (
            f"{len(touched)} {table.incremental_by} value(s) recomputed, {len(differs)} changed"
        )
        if len(differs) == 0:
            self.commit(table, ctx, "_rewrite", "append", marks)
        elif len(differs) <= PREDICATE_LIMIT or not table.keys:
            # a Delta predicate: its literals are delta-rs' (see delta_literal)
            predicate = f"{by} IN {delta_literal(tuple(differs.to_pylist()))}"
            self.commit(table, ctx, "_rewrite", "overwrite", marks, predicate)
        elif (plan := self.range_plan(table, ctx, RANGE_BUDGET * rewritten)) is not None:
            # many values: those from ``low`` up (new keys are the highest) and the few below
            # it are replaced; unchanged rows in that range are written again as they are
            low, below = plan
            predicate = f"{by} >= {delta_literal(low)}" + (
                f" OR {by} IN {delta_literal(tuple(below))}" if below else ""
            )
            ctx.engine.stage(
                "_replaced",
                f"SELECT *, CAST(NULL AS BIGINT) AS {KEPT} FROM _rewrite UNION ALL "
                f"SELECT * EXCLUDE (_batch_id), _batch_id AS {KEPT} "
                f"FROM {table.name} WHERE {by} >= {literal(low)} "
                f"AND {by} NOT IN (SELECT v FROM _differs)",
            )
            self.commit(table, ctx, "_replaced", "overwrite", marks, predicate, kept=True)
            result.note += f"; replaced from {low}" + (f" and {len(below)} below" if below else "")
        else:
            # many values spread wide: a keyed merge, deleting the rows of changed values that
            # are gone (a long IN list in a Delta predicate has crashed delta-rs)
            same = join_on(table.keys, "n", "t")
            ctx.engine.stage(
                "_replaced",
                f"SELECT *, FALSE AS {DELETE_FLAG} FROM _rewrite UNION ALL "
                f"SELECT t.* EXCLUDE (_batch_id), TRUE AS {DELETE_FLAG} FROM {table.name} AS t "
                f"WHERE t.{by} IN (SELECT v FROM _differs) "
                f"AND NOT EXISTS (SELECT 1 FROM _rewrite AS n WHERE {same})",
            )
            self.commit(table, ctx, "_replaced", "merge", marks)
        return result

    @staticmethod
    def range_plan(table: Table, ctx: RunContext, budget: int) -> tuple[Any, list[Any]] | None:
        """How to replace the rows of the changed values (``_differs``) by a predicate:
        ``(low, below)`` means every value from ``low`` up plus the values ``below`` it, listed.

        ``low`` is the lowest changed value for which at most ``budget`` unchanged rows lie at
        or above it and at most PREDICATE_LIMIT changed values lie below it. None when there
        is no such value (the changes are spread over the whole table).

        It is found from the unchanged row at rank ``budget`` counted from the top (``edge``,
        0-based): a changed value above the edge has at most ``budget`` unchanged rows at or
        above it, one below the edge has more. Memory follows the budget (a top-N of
        ``budget`` values), not the table: running sums over every value of the table, as this
        was first written, ran out of DuckDB's memory at SF 30.
        """
        assert table.incremental_by is not None  # called by replace_touched only
        by = ident(table.incremental_by)
        # only unchanged rows above the lowest changed value count: a constant bound skips the
        # files below it
        lowest = ctx.engine.fetch("SELECT min(v) AS v FROM _differs").column(0)[0].as_py()
        edge = ctx.engine.fetch(
            f"SELECT {by} AS v FROM {table.name} "
            f"WHERE {by} >= {literal(lowest)} AND {by} NOT IN (SELECT v FROM _differs) "
            f"ORDER BY {by} DESC LIMIT 1 OFFSET {int(budget)}"
        ).to_pylist()
        if edge:
            low = (
                ctx.engine.fetch(
                    f"SELECT min(v) AS v FROM _differs WHERE v > {literal(edge[0]['v'])}"
                )
                .column(0)[0]
                .as_py()
            )
            if low is None:
                return None
        else:  # no more than ``budget`` unchanged rows above the lowest changed value
            low = lowest
        below = ctx.engine.fetch(
            f"SELECT v FROM _differs WHERE v < {literal(low)} ORDER BY v "
            f"LIMIT {PREDICATE_LIMIT + 1}"
        ).column(0)
        if len(below) > PREDICATE_LIMIT:
            return None
        return low, below.to_pylist()


def _differing(table: Table, ctx: RunContext, current: str) -> str:
    """The ``incremental_by`` values (``v``) whose rows differ between the recomputed rows
    (``_valid``) and the table's ``current`` rows of the touched values.

    A keyed table's rows are paired by key and compared column by column (a full outer join,
    NULL equal to NULL in both): a hash join on the keys spills to disk past DuckDB's memory
    limit, where ``EXCEPT`` both ways over every column ran out of memory at SF 30 (the 2.1 M
    touched lines of ``gold.fact_sales`` in a day's run). Without keys, ``EXCEPT``.
    """
    assert table.incremental_by is not None
    by = ident(table.incremental_by)
    if not table.keys:
        return (
            f"SELECT DISTINCT {by} AS v FROM ((SELECT * FROM {VALID} EXCEPT {current}) "
            f"UNION ALL ({current} EXCEPT SELECT * FROM {VALID})) AS d"
        )
    same = all_equal(columns_of(ctx, VALID), "n", "o")
    return (
        f"SELECT DISTINCT COALESCE(n.{by}, o.{by}) AS v FROM {VALID} AS n "
        f"FULL OUTER JOIN ({current}) AS o ON {all_equal(table.keys, 'n', 'o')} "
        f"WHERE NOT ({same})"
    )


def _values_table(values: pa.ChunkedArray) -> pa.Table:
    return pa.table({"v": values})

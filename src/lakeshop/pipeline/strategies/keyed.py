"""What the incremental keyed kinds (``upsert``, ``append``) share: new upstream rows, the
latest version per key, compared with the target."""

from __future__ import annotations

from abc import abstractmethod

from lakeshop.core import sqltext
from lakeshop.core.sqltext import ident, join_on
from lakeshop.engines.base import WriteMode
from lakeshop.engines.commit_info import commit_metadata
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.expectations import RETRY
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import (
    CANDIDATES,
    RELEASED_KEY,
    ROW_HASH,
    VALID,
    WINNERS,
    Inputs,
    latest_batch,
    logged_batches_within,
    predicate_tables,
    row_digest,
)
from lakeshop.pipeline.strategies.checked import CheckedStrategy


class KeyedStrategy(CheckedStrategy):
    """Incremental kinds: new upstream rows, latest version per key, compared with the target."""

    reads_increments = True

    def stage_candidates(self, table: Table, ctx: RunContext, columns: list[str]) -> None:
        """``_candidates``: one row per key (latest by sequence, ties by content hash)."""
        business = [c for c in columns if not c.startswith("_")]
        keys = sqltext.columns(table.keys)
        order = f"{ident(table.sequence)} DESC NULLS LAST, " if table.sequence else ""
        # identical versions: the first delivered keeps its lineage, as in a run per file
        lineage = [c for c in ("_source_file", "_source_row") if c in columns]
        first = "".join(f", {c}" for c in lineage)
        ctx.engine.stage_view(
            CANDIDATES,
            f"SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {order}{ROW_HASH} DESC{first}) AS _rn FROM (SELECT *, "
            f"{row_digest(business)} AS {ROW_HASH} FROM {VALID})) WHERE _rn = 1",
        )

    def target_join(self, table: Table) -> str:
        return join_on(table.keys, "t", "c")

    def idle(self, table: Table, ctx: RunContext, inputs: Inputs) -> bool:
        """No new row upstream, no held row to try again, nothing of a killed run to finish:
        what :meth:`execute` finds "up to date", read from the logs before anything is bound.
        The quarantine holds no row after the driving watermark (which
        :meth:`drop_orphans` would remove) and the last commit released nothing."""
        lakehouse = ctx.lakehouse
        if ctx.full_refresh or not inputs.driving:
            return False
        if not (lakehouse.exists(table.name) and lakehouse.exists(table.quarantine)):
            return False
        seen = lakehouse.watermarks(table.name)
        mark = seen.get(inputs.driving)
        if mark is None or RELEASED_KEY in commit_metadata(lakehouse.last_commit(table.name)):
            return False
        return logged_batches_within(
            ctx,
            {inputs.driving: mark, table.quarantine: mark}
            | {p: seen.get(p, -1) for p in self.retry_parents(table)},
        )

    @staticmethod
    def retry_parents(table: Table) -> list[str]:
        """The tables the checks of held rows read: held rows get another try when one of
        them has changed."""
        return sorted(
            {t for e in table.expectations if e.retry for t in predicate_tables(e.predicate)}
        )

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        self.drop_orphans(table, ctx, inputs)
        self.finish_release(table, ctx)
        result = TableResult()
        parents = self.retry_parents(table)
        seen = ctx.lakehouse.watermarks(table.name)
        held = (
            not ctx.full_refresh
            and any(latest_batch(ctx, p) > seen.get(p, -1) for p in parents)
            and ctx.lakehouse.exists(table.quarantine)
            and RETRY in ctx.lakehouse.delta(table.quarantine).schema().to_arrow().names
        )
        if (
            not held
            and inputs.driving
            and not ctx.full_refresh
            and ctx.lakehouse.exists(table.name)
            and ctx.lakehouse.exists(table.quarantine)
            and not ctx.engine.fetch(f"SELECT 1 FROM {inputs.driving} LIMIT 1").num_rows
        ):
            return TableResult(note="up to date")  # the driving upstream has no new rows
        columns = self.stage_valid(table, ctx, result, held=held)
        valid = result.rows_in - result.rows_quarantined
        if result.rows_in == 0 and ctx.lakehouse.exists(table.name):
            return result
        self.stage_candidates(table, ctx, columns)
        replace = ctx.full_refresh or not ctx.lakehouse.exists(table.name)
        if replace:
            ctx.engine.stage_view(WINNERS, f"SELECT * FROM {CANDIDATES}")
        else:
            ctx.engine.bind_table(table.name)
            ctx.engine.stage_view(WINNERS, self.winners_sql(table))
        mode: WriteMode = "overwrite" if replace else self.write_mode
        marks = {
            up: ctx.batch_id for up in [*parents, *([inputs.driving] if inputs.driving else [])]
        }
        result.rows_written = self.commit(table, ctx, WINNERS, mode, marks, released=held)
        result.rows_deduplicated = valid - result.rows_written
        if held:
            self.release_held(table, ctx)
        return result

    write_mode: WriteMode = "append"

    def finish_release(self, table: Table, ctx: RunContext) -> None:
        """Release the held rows a killed run evaluated again and committed, but did not
        remove from the quarantine (its table commit records the batch)."""
        if ctx.full_refresh or not ctx.lakehouse.exists(table.quarantine):
            return
        below = commit_metadata(ctx.lakehouse.last_commit(table.name)).get(RELEASED_KEY)
        if below is not None:
            self.release_held(table, ctx, int(below))

    @staticmethod
    def drop_orphans(table: Table, ctx: RunContext, inputs: Inputs) -> None:
        """Remove quarantine rows of a run that died before committing the table itself.

        The quarantine is committed first; rows it holds from a batch the table's watermark
        does not cover were written by a run that was killed in between, and the rows they
        came from are read again now.
        """
        if ctx.full_refresh or not inputs.driving:
            return
        if not ctx.lakehouse.exists(table.name):
            ctx.lakehouse.delete(table.quarantine, "_batch_id IS NOT NULL")
            return
        mark = ctx.lakehouse.watermarks(table.name).get(inputs.driving)
        if mark is not None:
            ctx.lakehouse.delete(table.quarantine, f"_batch_id > {mark}")

    @abstractmethod
    def winners_sql(self, table: Table) -> str:
        """Candidates that change the existing target table."""

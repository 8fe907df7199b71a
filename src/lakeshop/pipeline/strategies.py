"""One strategy per table kind: how its rows are computed, checked, deduplicated and committed."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from lakeshop.core.errors import LakeshopError
from lakeshop.engines.base import WriteMode
from lakeshop.engines.lakehouse import DELETE_FLAG, WATERMARK_KEY, commit_metadata
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.expectations import FAILED, QUARANTINED, RETRY, check
from lakeshop.pipeline.graph import referenced_tables
from lakeshop.pipeline.model import Kind, Table

FRESH, CHECKED, VALID, CANDIDATES, WINNERS, OUTPUT = (
    "_fresh",
    "_checked",
    "_valid",
    "_candidates",
    "_winners",
    "_out",
)
MERGED = "_out_merged"
#: commit metadata of a keyed table: held quarantine rows below this batch were evaluated again
RELEASED_KEY = "lakeshop.held_released_below"
EPOCH = "CAST('1900-01-01 00:00:00' AS TIMESTAMP)"
END_OF_TIME = "CAST('9999-12-31 00:00:00' AS TIMESTAMP)"
#: most values a partial recompute lists in a Delta predicate; beyond, it merges by key
PREDICATE_LIMIT = 500
#: a partial recompute may write again up to this many unchanged rows per changed row
#: rather than merge (a predicate overwrite of sorted files beats delta-rs' merge)
RANGE_BUDGET = 4
KEPT = "_kept_batch"
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
            f"SELECT * EXCLUDE ({exclude}), '{ctx.run_id}' AS _run_id, "
            f"CAST({ctx.batch_id} AS BIGINT) AS _batch_id FROM {CHECKED} WHERE {QUARANTINED}",
        )
        rebuild = ctx.full_refresh or (table.kind is Kind.MATERIALIZED and not replace_quarantine)
        exists = ctx.lakehouse.exists(table.quarantine)
        if rebuild or not exists:
            engine.write(table.quarantine, "_quarantine", "overwrite")
        elif result.rows_quarantined and not replace_quarantine:
            if ctx.replay is not None:
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
        returns how many. A replay reads rows again that it already quarantined; held rows
        this run releases (see :meth:`release_held`) do not count as held."""
        columns = [c for c in columns_of(ctx, "_quarantine") if c not in ("_run_id", "_batch_id")]
        listed = ", ".join(f'"{c}"' for c in columns)
        released = f" WHERE NOT ({RETRY} AND _batch_id < {ctx.batch_id})" if held else ""
        ctx.engine.bind_table(table.quarantine)
        ctx.engine.stage(
            "_quarantined_new",
            f"SELECT {listed} FROM _quarantine EXCEPT SELECT {listed} FROM {table.quarantine}{released}",
        )
        return ctx.engine.stage(
            "_quarantine",
            f"SELECT {listed}, '{ctx.run_id}' AS _run_id, "
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
        held = ", ".join(f'"{c}"' if c not in OWNED else f'NULL AS "{c}"' for c in columns)
        listed = ", ".join(f'"{c}"' for c in columns)
        return (
            f"SELECT {listed} FROM {FRESH} UNION ALL SELECT DISTINCT {held} "
            f"FROM {table.quarantine} WHERE {RETRY}"
        )

    @staticmethod
    def release_held(table: Table, ctx: RunContext, below: int | None = None) -> None:
        """Remove the held rows this run (or batch ``below``) evaluated again (those still
        failing were re-added).

        It comes after the table's commit, which records the release (``RELEASED_KEY``): a run
        killed in between leaves it to the next run (:meth:`_KeyedStrategy.finish_release`).
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
        order = f' ORDER BY "{column}"' if column else ""
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
        column = f'"{table.incremental_by}"'
        parts = []
        for i, (up, mark) in enumerate(sorted(changed.items())):
            ctx.engine.bind_table(up, where=f"_batch_id > {mark}")
            ctx.engine.stage(f"_touched_{i}", table.touched[up])
            ctx.engine.bind_table(up)
            first = columns_of(ctx, f"_touched_{i}")[0]
            parts.append(f'SELECT "{first}" AS v FROM _touched_{i}')
        touched = ctx.engine.fetch(
            f"SELECT DISTINCT v FROM ({' UNION ALL '.join(parts)}) AS t WHERE v IS NOT NULL ORDER BY v"
        ).column(0)
        result = TableResult()
        ctx.engine.register("_touched", _values_table(touched))
        restricted = f"SELECT * FROM ({sql}) AS t WHERE {column} IN (SELECT v FROM _touched)"
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
        lowest = f" AND {column} >= {_literal(touched[0].as_py())}" if len(touched) else ""
        current = (
            f"SELECT * EXCLUDE (_batch_id) FROM {table.name} "
            f"WHERE {column} IN (SELECT v FROM _touched){lowest}"
        )
        ctx.engine.stage(
            "_differs",
            f"SELECT DISTINCT {column} AS v FROM ((SELECT * FROM {VALID} EXCEPT {current}) "
            f"UNION ALL ({current} EXCEPT SELECT * FROM {VALID})) AS d",
        )
        differs = ctx.engine.fetch("SELECT v FROM _differs ORDER BY v").column(0)
        ctx.engine.stage(
            "_rewrite", f"SELECT * FROM {VALID} WHERE {column} IN (SELECT v FROM _differs)"
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
            predicate = f"{column} IN ({', '.join(_literal(v) for v in differs.to_pylist())})"
            self.commit(table, ctx, "_rewrite", "overwrite", marks, predicate)
        elif (plan := self.range_plan(table, ctx, RANGE_BUDGET * rewritten)) is not None:
            # many values: those from ``low`` up (new keys are the highest) and the few below
            # it are replaced; unchanged rows in that range are written again as they are
            low, below = plan
            listed = ", ".join(_literal(v) for v in below)
            predicate = f"{column} >= {_literal(low)}" + (
                f" OR {column} IN ({listed})" if below else ""
            )
            ctx.engine.stage(
                "_replaced",
                f"SELECT *, CAST(NULL AS BIGINT) AS {KEPT} FROM _rewrite UNION ALL "
                f"SELECT * EXCLUDE (_batch_id), _batch_id AS {KEPT} "
                f"FROM {table.name} WHERE {column} >= {_literal(low)} "
                f"AND {column} NOT IN (SELECT v FROM _differs)",
            )
            self.commit(table, ctx, "_replaced", "overwrite", marks, predicate, kept=True)
            result.note += f"; replaced from {low}" + (f" and {len(below)} below" if below else "")
        else:
            # many values spread wide: a keyed merge, deleting the rows of changed values that
            # are gone (a long IN list in a Delta predicate has crashed delta-rs)
            same = " AND ".join(f'n."{k}" = t."{k}"' for k in table.keys)
            ctx.engine.stage(
                "_replaced",
                f"SELECT *, FALSE AS {DELETE_FLAG} FROM _rewrite UNION ALL "
                f"SELECT t.* EXCLUDE (_batch_id), TRUE AS {DELETE_FLAG} FROM {table.name} AS t "
                f"WHERE t.{column} IN (SELECT v FROM _differs) "
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
        """
        column = f'"{table.incremental_by}"'
        # only unchanged rows above the lowest changed value count: a constant bound skips the
        # files below it
        lowest = ctx.engine.fetch("SELECT min(v) AS v FROM _differs").column(0)[0].as_py()
        candidates = ctx.engine.fetch(
            f"""
            WITH kept AS (
                SELECT {column} AS v, count(*) AS n FROM {table.name}
                WHERE {column} >= {_literal(lowest)}
                AND {column} NOT IN (SELECT v FROM _differs)
                GROUP BY ALL
            ),
            marks AS (
                SELECT v, 1 AS changed, 0 AS n FROM _differs
                UNION ALL SELECT v, 0 AS changed, n FROM kept
            ),
            running AS (
                SELECT v, changed,
                    sum(n) OVER (ORDER BY v DESC ROWS UNBOUNDED PRECEDING) AS unchanged_above,
                    sum(changed) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) - changed AS below
                FROM marks
            )
            SELECT v, below FROM running
            WHERE changed = 1 AND unchanged_above <= {int(budget)} AND below <= {PREDICATE_LIMIT}
            ORDER BY v LIMIT 1
            """
        ).to_pylist()
        if not candidates:
            return None
        low = candidates[0]["v"]
        below = ctx.engine.fetch(
            f"SELECT v FROM _differs WHERE v < {_literal(low)} ORDER BY v"
        ).column(0)
        return low, below.to_pylist()


class Scd2Strategy(MaterializedStrategy):
    """Type 2 history: one row per distinct version of a key, with validity intervals.

    The table's SQL returns versions; consecutive versions with the same attributes collapse
    into one (a re-send adds nothing), and versions arriving out of order take their place in
    the history, because the history of every touched key is rebuilt from all its versions.
    Surrogate keys hash the business key and the version's ``valid_from``: the first version
    keeps its key when a placeholder is completed or an earlier version arrives late. A row
    whose SQL gives its own surrogate key (a column named like it; a fixed member such as a
    guest) keeps it. An unknown member (surrogate key ``'-1'``) is part of every dimension.
    """

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        if len(table.keys) != 1 or not table.sequence or not table.surrogate_key:
            raise LakeshopError(
                f"table {table.name}: scd2 needs one key, a sequence and a surrogate_key"
            )
        versions = columns_of_sql(ctx, table.sql)
        key, seq, sk = table.keys[0], table.sequence, table.surrogate_key
        own = f', "{sk}" AS _own_sk' if sk in versions else ""
        attrs = [c for c in versions if c not in (seq, sk) and not c.startswith("_")]
        kept = [c for c in versions if c != sk and not c.startswith("_")]
        digest = ", ".join(f"COALESCE(CAST(\"{c}\" AS VARCHAR), '\\N')" for c in attrs)
        chain = f"""
            WITH versions AS (
                SELECT {", ".join(f'"{c}"' for c in kept)}, md5(concat_ws('|', {digest})) AS _attrs{own}
                FROM ({table.sql}) AS v
            ),
            changes AS (
                SELECT *, LAG(_attrs) OVER (PARTITION BY "{key}" ORDER BY "{seq}") AS _prev
                FROM versions
            ),
            kept AS (
                SELECT *,
                    ROW_NUMBER() OVER (PARTITION BY "{key}" ORDER BY "{seq}") AS _n,
                    LEAD("{seq}") OVER (PARTITION BY "{key}" ORDER BY "{seq}") AS _next
                FROM changes
                WHERE _prev IS NULL OR _prev <> _attrs
            )
            SELECT
                {"COALESCE(_own_sk, " if own else "("}md5("{key}" || '|' || CAST(
                    CASE WHEN _n = 1 THEN {EPOCH} ELSE "{seq}" END AS VARCHAR))) AS "{sk}",
                {", ".join(f'"{c}"' for c in kept)},
                CASE WHEN _n = 1 THEN {EPOCH} ELSE "{seq}" END AS valid_from,
                COALESCE(_next, {END_OF_TIME}) AS valid_to,
                _next IS NULL AS is_current
            FROM kept
        """
        unknown = (
            f"SELECT '-1' AS \"{sk}\", "
            + ", ".join(f'NULL AS "{c}"' for c in kept)
            + f", {EPOCH} AS valid_from, {END_OF_TIME} AS valid_to, TRUE AS is_current"
        )
        full = f"{chain} UNION ALL {unknown}"
        scd2 = Table(
            name=table.name,
            kind=Kind.MATERIALIZED,
            sql=full,
            expectations=table.expectations,
            keys=(sk,),
            incremental_by=key,
            touched={
                up: table.touched.get(up, f'SELECT "{key}" FROM {up}') for up in inputs.upstream
            },
            scope=table.scope,
        )
        return self.refresh(scd2, ctx, inputs, full, partial=chain)


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
        ctx.engine.stage_view(
            CANDIDATES,
            f"SELECT * EXCLUDE (_rn) FROM (SELECT *, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {order}{ROW_HASH} DESC{first}) AS _rn FROM (SELECT *, "
            f"md5(concat_ws('|', {parts})) AS {ROW_HASH} FROM {VALID})) WHERE _rn = 1",
        )

    def target_join(self, table: Table) -> str:
        return " AND ".join(f't."{k}" = c."{k}"' for k in table.keys)

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        self.drop_orphans(table, ctx, inputs)
        self.finish_release(table, ctx)
        result = TableResult()
        # held rows get another try when a table their checks read has changed
        parents = sorted(
            {t for e in table.expectations if e.retry for t in predicate_tables(e.predicate)}
        )
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
        Kind.SCD2: Scd2Strategy(),
        Kind.VIEW: ViewStrategy(),
    }
    return strategies[kind]


def columns_of(ctx: RunContext, relation: str) -> list[str]:
    """Column names of a staged relation."""
    return list(ctx.engine.fetch(f'SELECT * FROM "{relation}" LIMIT 0').column_names)


def columns_of_sql(ctx: RunContext, sql: str) -> list[str]:
    """Column names a query returns."""
    return list(ctx.engine.fetch(f"SELECT * FROM ({sql}) AS q LIMIT 0").column_names)


def latest_batch(ctx: RunContext, table: str) -> int:
    """The highest ``_batch_id`` in a stored table (-1 when empty)."""
    known = ctx.lakehouse.latest_batch(table)  # from the Delta log: no data read
    if known is not None:
        return known
    value = ctx.engine.fetch(f"SELECT max(_batch_id) AS b FROM {table}").column(0)[0].as_py()
    return -1 if value is None else int(value)


def _literal(value: object) -> str:
    """A value as a SQL literal both DuckDB and Delta predicates read."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"
    if isinstance(value, date):
        return f"CAST('{value.isoformat()}' AS DATE)"
    return "'" + str(value).replace("'", "''") + "'"


def _values_table(values: pa.ChunkedArray) -> pa.Table:
    return pa.table({"v": values})


def predicate_tables(predicate: str) -> set[str]:
    """The tables an expectation's predicate reads."""
    return referenced_tables(f"SELECT * FROM _x WHERE {predicate}")

"""The strategy contract, the names of a strategy's intermediate relations, shared helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from lakeshop.core.sqltext import ident
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.graph import referenced_tables
from lakeshop.pipeline.model import Table

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
#: the batch of a row written again unchanged, which it keeps (see CheckedStrategy.commit)
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

    def idle(self, table: Table, ctx: RunContext, inputs: Inputs) -> bool:
        """Whether ``table`` has nothing to do in this run, as the Delta logs tell (no upstream
        bound, no data read): the runner then records it up to date without binding its
        upstreams or executing. False when the logs cannot tell; ``execute`` then decides."""
        return False


def columns_of(ctx: RunContext, relation: str) -> list[str]:
    """Column names of a staged relation."""
    return list(ctx.engine.fetch(f"SELECT * FROM {ident(relation)} LIMIT 0").column_names)


def columns_of_sql(ctx: RunContext, sql: str) -> list[str]:
    """Column names a query returns."""
    return list(ctx.engine.fetch(f"SELECT * FROM ({sql}) AS q LIMIT 0").column_names)


def row_digest(names: list[str]) -> str:
    """The md5 of the columns' values as text (NULL as ``\\N``): equal for equal rows."""
    parts = ", ".join(f"COALESCE(CAST({ident(c)} AS VARCHAR), '\\N')" for c in names)
    return f"md5(concat_ws('|', {parts}))"


def latest_batch(ctx: RunContext, table: str) -> int:
    """The highest ``_batch_id`` in a stored table (-1 when empty)."""
    known = ctx.lakehouse.latest_batch(table)  # from the Delta log: no data read
    if known is not None:
        return known
    value = ctx.engine.fetch(f"SELECT max(_batch_id) AS b FROM {table}").column(0)[0].as_py()
    return -1 if value is None else int(value)


def logged_batches_within(ctx: RunContext, tables: dict[str, int]) -> bool:
    """Whether each table's highest ``_batch_id``, as its Delta log's statistics give it, is
    at most the batch given for it (False when a log cannot tell, or a table is missing)."""
    for name, mark in tables.items():
        latest = ctx.lakehouse.latest_batch(name)
        if latest is None or latest > mark:
            return False
    return True


def predicate_tables(predicate: str) -> set[str]:
    """The tables an expectation's predicate reads."""
    return referenced_tables(f"SELECT * FROM _x WHERE {predicate}")

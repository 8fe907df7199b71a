"""Evaluating expectations in SQL: flag each row with the names of the checks it fails."""

from __future__ import annotations

from dataclasses import dataclass

from lakeshop.core.errors import ExpectationFailed
from lakeshop.core.sqltext import ident, literal
from lakeshop.engines.base import Engine
from lakeshop.pipeline.model import Action, Table

FAILED = "_failed_expectations"
QUARANTINED = "_quarantined"
#: in quarantine: TRUE when every violation of the row may resolve later (it is re-evaluated)
RETRY = "_retry"


@dataclass(frozen=True)
class ExpectationCount:
    """Passed and failed rows of one expectation in one run."""

    name: str
    action: Action
    passed: int
    failed: int


@dataclass(frozen=True)
class Checked:
    """A staged relation with the verdict of every row: how many rows, what each check found.

    Besides ``_failed_expectations``, ``_quarantined`` and ``_retry`` it holds one boolean
    column per expectation (``flags``), which readers of it leave out.
    """

    rows: int
    counts: list[ExpectationCount]
    flags: list[str]


def check(engine: Engine, table: Table, source_sql: str, checked: str) -> Checked:
    """Stage ``checked`` = the rows of ``source_sql`` plus each row's verdict, in one pass.

    Each predicate is evaluated once (NULL counts as a violation). Raises
    :class:`ExpectationFailed` before anything is written when a ``fail`` check fails.
    """
    exps = table.expectations
    flags = [f"__ok_{i}" for i in range(len(exps))]
    flag_sql = "".join(
        f", COALESCE(({e.predicate}), FALSE) AS {f}" for e, f in zip(exps, flags, strict=True)
    )
    names = ", ".join(
        f"CASE WHEN NOT {f} THEN {literal(e.name)} END" for e, f in zip(exps, flags, strict=True)
    )
    joined = f"concat_ws(',', {names})" if exps else "''"
    failed_list = (
        f"CASE WHEN {joined} = '' THEN CAST([] AS VARCHAR[]) ELSE string_split({joined}, ',') END"
    )
    drops = [f"NOT {f}" for e, f in zip(exps, flags, strict=True) if e.action is Action.DROP]
    final = [
        f"NOT {f}"
        for e, f in zip(exps, flags, strict=True)
        if e.action is Action.DROP and not e.retry
    ]
    quarantined = " OR ".join(drops) if drops else "FALSE"
    lasting = " OR ".join(final) if final else "FALSE"
    rows = engine.stage(
        checked,
        f"SELECT *, {failed_list} AS {FAILED}, ({quarantined}) AS {QUARANTINED}, "
        f"(({quarantined}) AND NOT ({lasting})) AS {RETRY} "
        f"FROM (SELECT *{flag_sql} FROM ({source_sql}) AS s) AS f",
    )
    if not exps:
        return Checked(rows, [], [])
    sums = ", ".join(f"COALESCE(SUM(CASE WHEN {f} THEN 0 ELSE 1 END), 0) AS {f}" for f in flags)
    row = engine.fetch(f"SELECT {sums} FROM {ident(checked)}").to_pylist()[0]
    counts = [
        ExpectationCount(e.name, e.action, rows - int(row[f]), int(row[f]))
        for e, f in zip(exps, flags, strict=True)
    ]
    for c in counts:
        if c.action is Action.FAIL and c.failed:
            raise ExpectationFailed(table.name, c.name, c.failed)
    return Checked(rows, counts, flags)

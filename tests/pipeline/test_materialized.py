"""A partial recompute's two plans on hand-made rows: which ``incremental_by`` values differ
(keyed: a join on the keys; without keys: ``EXCEPT``) and which range of values to replace
(checked against the definition, value by value)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from lakeshop.core.sqltext import literal
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline.context import RunContext
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.strategies import materialized
from lakeshop.pipeline.strategies.materialized import MaterializedStrategy, _differing

COLUMNS = "(order_id, line_no, amount, note)"
#: the table's rows of the touched orders, then the recomputed ones: o1 unchanged (a NULL
#: note on both sides), o2 an amount changed, o3 a line gone, o4 a line added, o5 a note
#: from NULL to text, o6 unchanged with a NULL line number (a key NULL on both sides)
CURRENT = """VALUES ('o1', 1, 10.0, NULL), ('o2', 1, 5.0, 'a'), ('o3', 1, 1.0, 'x'),
    ('o3', 2, 2.0, 'x'), ('o4', 1, 7.0, 'b'), ('o5', 1, 3.0, NULL), ('o6', NULL, 4.0, 'c')"""
VALID = """VALUES ('o1', 1, 10.0, NULL), ('o2', 1, 6.0, 'a'), ('o3', 1, 1.0, 'x'),
    ('o4', 1, 7.0, 'b'), ('o4', 2, 1.0, 'b'), ('o5', 1, 3.0, 'y'), ('o6', NULL, 4.0, 'c')"""


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    with DuckDBEngine(Lakehouse(tmp_path / "lakehouse")) as db:
        yield db


def _fact(keys: tuple[str, ...]) -> Table:
    return Table(
        "gold.fact", Kind.MATERIALIZED, sql="SELECT 1", keys=keys, incremental_by="order_id"
    )


@pytest.mark.parametrize("keys", [("order_id", "line_no"), ()], ids=["keyed", "unkeyed"])
def test_the_values_whose_rows_differ(engine: DuckDBEngine, keys: tuple[str, ...]) -> None:
    engine.stage("_valid", f"SELECT * FROM ({VALID}) AS t {COLUMNS}")
    current = f"SELECT * FROM ({CURRENT}) AS t {COLUMNS}"
    ctx = cast(RunContext, SimpleNamespace(engine=engine))  # what the plans use of a run
    sql = _differing(_fact(keys), ctx, current)
    assert ("FULL OUTER JOIN" in sql) == bool(keys)
    found = sorted(engine.fetch(f"SELECT v FROM ({sql}) AS d").column(0).to_pylist())
    assert found == ["o2", "o3", "o4", "o5"]


# (order_id, rows in the table): several rows per value, as lines of an order
TABLE = {f"o{i:02d}": 1 + i % 3 for i in range(20)}


def _expected(changed: list[str], budget: int, limit: int) -> tuple[str, list[str]] | None:
    """The plan by its definition: the lowest changed value with at most ``budget`` unchanged
    rows at or above it and at most ``limit`` changed values below it."""
    for low in sorted(changed):
        unchanged = sum(n for v, n in TABLE.items() if v >= low and v not in changed)
        below = [c for c in sorted(changed) if c < low]
        if unchanged <= budget and len(below) <= limit:
            return low, below
    return None


@pytest.mark.parametrize(
    "changed",
    [["o03"], ["o00", "o19"], ["o02", "o05", "o06", "o11", "o17"], ["o18", "o19"]],
    ids=["one", "ends", "spread", "top"],
)
def test_the_range_plan_is_the_lowest_value_within_the_budget(
    engine: DuckDBEngine, changed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialized, "PREDICATE_LIMIT", 2)
    rows = ", ".join(f"({literal(v)}, {line})" for v, n in TABLE.items() for line in range(n))
    engine.bind_view("gold.fact", f"SELECT * FROM (VALUES {rows}) AS t (order_id, line_no)")
    engine.stage(
        "_differs",
        f"SELECT * FROM (VALUES {', '.join(f'({literal(c)})' for c in changed)}) AS d (v)",
    )
    ctx = cast(RunContext, SimpleNamespace(engine=engine))  # what the plans use of a run
    plans = {
        budget: MaterializedStrategy.range_plan(_fact(("order_id",)), ctx, budget)
        for budget in range(0, sum(TABLE.values()) + 2)
    }
    assert plans == {budget: _expected(changed, budget, 2) for budget in plans}
    assert any(p is not None for p in plans.values())  # a plan within some budget

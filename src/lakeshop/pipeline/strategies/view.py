"""The ``view`` kind: nothing stored."""

from __future__ import annotations

from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import Inputs, Strategy


class ViewStrategy(Strategy):
    """Stores nothing: the SQL is checked to run, readers compute it on demand."""

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        ctx.engine.fetch(f"SELECT * FROM ({table.sql}) AS v LIMIT 0")
        return TableResult(note="view")

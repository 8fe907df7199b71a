"""Which strategy maintains which kind of table."""

from __future__ import annotations

from lakeshop.pipeline.model import Kind
from lakeshop.pipeline.strategies.append import AppendStrategy
from lakeshop.pipeline.strategies.base import Strategy
from lakeshop.pipeline.strategies.ingest import IngestStrategy
from lakeshop.pipeline.strategies.materialized import MaterializedStrategy
from lakeshop.pipeline.strategies.scd2 import Scd2Strategy
from lakeshop.pipeline.strategies.upsert import UpsertStrategy
from lakeshop.pipeline.strategies.view import ViewStrategy

#: the strategy class of each kind; adding a kind adds a class here, not branches elsewhere
STRATEGIES: dict[Kind, type[Strategy]] = {
    Kind.INGEST: IngestStrategy,
    Kind.UPSERT: UpsertStrategy,
    Kind.APPEND: AppendStrategy,
    Kind.MATERIALIZED: MaterializedStrategy,
    Kind.SCD2: Scd2Strategy,
    Kind.VIEW: ViewStrategy,
}


def strategy_for(kind: Kind) -> Strategy:
    """The strategy that maintains tables of ``kind``."""
    return STRATEGIES[kind]()

"""The ``append`` kind: immutable events, each key appended once."""

from __future__ import annotations

from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import CANDIDATES
from lakeshop.pipeline.strategies.keyed import KeyedStrategy


class AppendStrategy(KeyedStrategy):
    """Immutable events: a key already present is a re-send and is not appended again."""

    def winners_sql(self, table: Table) -> str:
        return (
            f"SELECT c.* FROM {CANDIDATES} c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {table.name} t WHERE {self.target_join(table)})"
        )

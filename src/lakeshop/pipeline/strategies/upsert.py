"""The ``upsert`` kind (SCD1): the latest version per key wins."""

from __future__ import annotations

from lakeshop.core.sqltext import column
from lakeshop.engines.base import WriteMode
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import CANDIDATES, ROW_HASH
from lakeshop.pipeline.strategies.keyed import KeyedStrategy


class UpsertStrategy(KeyedStrategy):
    """SCD1: the latest version per key wins; an older or identical version changes nothing."""

    write_mode: WriteMode = "merge"

    def winners_sql(self, table: Table) -> str:
        if table.sequence:
            new, old = column(table.sequence, "c"), column(table.sequence, "t")
            newer = f"{new} > {old} OR ({new} = {old} AND c.{ROW_HASH} > t.{ROW_HASH})"
        else:
            newer = f"c.{ROW_HASH} <> t.{ROW_HASH}"
        return (
            f"SELECT c.* FROM {CANDIDATES} c LEFT JOIN {table.name} t ON {self.target_join(table)} "
            f"WHERE {column(table.keys[0], 't')} IS NULL OR {newer}"
        )

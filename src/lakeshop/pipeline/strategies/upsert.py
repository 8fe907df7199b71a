"""The ``upsert`` kind (SCD1): the latest version per key wins."""

from __future__ import annotations

from lakeshop.engines.base import WriteMode
from lakeshop.pipeline.model import Table
from lakeshop.pipeline.strategies.base import CANDIDATES, ROW_HASH
from lakeshop.pipeline.strategies.keyed import KeyedStrategy


class UpsertStrategy(KeyedStrategy):
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

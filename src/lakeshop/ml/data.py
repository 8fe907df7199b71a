"""What the models read of gold, through the app's read path, and which Delta versions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from lakeshop.app.project import Project
from lakeshop.app.reader import query
from lakeshop.core.errors import LakeshopError
from lakeshop.ml import sql

#: the gold tables each query reads (their Delta versions are recorded with a training run)
READS = {
    "demand_daily": ("gold.fact_sales",),
    "customer_orders": ("gold.fact_orders",),
    "customer_returns": ("gold.fact_returns",),
    "rfm": ("gold.customer_value", "gold.customer_features"),
}

#: the queries each model reads, training or scoring
QUERIES = {
    "demand_forecast": ("demand_daily",),
    "churn": ("customer_orders", "customer_returns"),
    "segments": ("rfm",),
}


def tables_read(model: str) -> list[str]:
    """The gold tables ``model`` reads (its inputs: their Delta versions say when it is stale)."""
    return sorted({t for q in QUERIES[model] for t in READS[q]})


class NotEnoughHistory(LakeshopError):
    """The lakehouse holds too little history for a model (what it has, what it needs)."""


@dataclass
class Inputs:
    """Query results of one training or scoring, with the Delta versions they were read at."""

    project: Project
    target: str | None = None
    versions: dict[str, int | None] = field(default_factory=dict)
    _cache: dict[str, pa.Table] = field(default_factory=dict)

    def read(self, name: str) -> pa.Table:
        """The rows of ``sql/<name>.sql`` (read once)."""
        if name not in self._cache:
            lakehouse = self.project.lakehouse(self.target)
            for table in READS[name]:
                if not lakehouse.exists(table):
                    raise NotEnoughHistory(
                        f"{table} does not exist yet: run `lakeshop run` before `lakeshop ml`"
                    )
                self.versions[table] = lakehouse.version(table)
            self._cache[name] = query(self.project, sql.load(name), self.target)
        return self._cache[name]

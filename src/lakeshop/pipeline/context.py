"""What one run hands to each table's strategy, and what the strategy hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline.expectations import ExpectationCount

if TYPE_CHECKING:
    from lakeshop.pipeline.sources import Source


@dataclass
class RunContext:
    """The run's identity and resources: one engine, one lakehouse, one batch id."""

    run_id: str
    batch_id: int
    engine: Engine
    lakehouse: Lakehouse
    landing: Path
    sources: dict[str, Source]
    started_at: datetime
    full_refresh: bool = False
    #: ingestion dates (first, last) whose raw copies bronze reads again (``lakeshop replay``)
    replay: tuple[date, date] | None = None
    #: a business day: landing files whose name holds a later date (``orders_2026-01-05``)
    #: are not delivered yet and left for a later run (a backfill's day, a catch-up's)
    through: date | None = None


@dataclass
class TableResult:
    """Row accounting of one table in one run:
    ``rows_in = written + quarantined + deduplicated + filtered``."""

    rows_in: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    #: rows a source's ``where:`` left out (bronze only)
    rows_filtered: int = 0
    expectations: list[ExpectationCount] = field(default_factory=list)
    files: int = 0
    #: rows held in quarantine that were evaluated again (part of rows_in)
    retried: int = 0
    note: str = ""
    #: files an ingestion refused (not read), by landing path: the reason
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_in == (
            self.rows_written + self.rows_quarantined + self.rows_deduplicated + self.rows_filtered
        )

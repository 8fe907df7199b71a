"""File naming, splitting into files and writing of one source-day."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .context import DayContext
from .defects import inject
from .formats import SOURCE_ORDER, SOURCES, Rows, materialise, text_buffer
from .incidents import LATE_FOLDER, Incident, delivered_at, held_back
from .ledger import Ledger

MAX_ROWS_PER_FILE = 50_000
UNREADABLE_FORMS = ("garbage", "empty", "header_only")
DRIFT_COLUMNS = {
    "customers": "marketing_opt_in",
    "orders": "promo_code",
    "order_items": "gift_wrap",
}


def file_name(source: str, ctx: DayContext, n: int) -> str:
    """Relative path of the n-th (1-based) file of a source-day."""
    suffix = "" if n == 1 else f"_{n}"
    ext = SOURCES[source].format
    return f"{source}/{source}_{ctx.date.isoformat()}{suffix}.{ext}"


@dataclass
class SourceWriter:
    """Writes the files of one day under ``out`` and records them in the ledger."""

    out: Path
    ledger: Ledger
    rate: float
    incidents: list[Incident] = field(default_factory=list)
    last_index: int = 0

    def write(
        self,
        ctx: DayContext,
        source: str,
        table: pa.Table,
        stale: pa.Table | None,
        rng: np.random.Generator,
        fresh: list[int],
        drift: str | None,
    ) -> int:
        """Write ``table`` (split into files of at most MAX_ROWS_PER_FILE), with defects.

        Returns the number of files written.
        """
        if drift:
            values = np.where(rng.random(table.num_rows) < 0.4, "true", "false")
            table = table.append_column(drift, pa.array(values.astype(object), pa.string()))
        n_files = int(max(1, -(-table.num_rows // MAX_ROWS_PER_FILE)))
        bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
        for i in range(n_files):
            part = table.slice(bounds[i], bounds[i + 1] - bounds[i])
            inj = inject(source, part, stale, self.rate, rng, ctx.index, fresh)
            rel = file_name(source, ctx, i + 1)
            header = (",".join(table.column_names) + "\n").encode() if rel.endswith(".csv") else b""
            late = self._emit(ctx, source, rel, header, text_buffer(inj.lines))
            self.ledger.add_rows(source, rel, inj)
            self.ledger.add_file(source, rel, len(inj.lines), late=late)
            if drift:
                self.ledger.add_file_defect(source, rel, "schema_drift", drift)
        return n_files

    def _emit(
        self, ctx: DayContext, source: str, rel: str, *parts: bytes | pa.Buffer
    ) -> dict[str, Any] | None:
        """Write one file (``parts`` one after the other), modified at its delivery time; held
        back under ``_late/`` when its late delivery falls after the last generated day.
        Returns its lateness, if late."""
        kept = held_back(ctx, source, self.incidents, self.last_index)
        path = self.out / LATE_FOLDER / rel if kept else self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for part in parts:
                fh.write(part)  # a pyarrow buffer is written from its memory, not copied
        when = delivered_at(ctx, source, self.incidents)
        os.utime(path, (when, when))
        if when == delivered_at(ctx, source, []):
            return None
        stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"delivered_at": stamp, "held_back": kept}

    def write_unreadable(
        self, ctx: DayContext, source: str, n: int, rng: np.random.Generator
    ) -> None:
        """Write an extra unreadable file (garbage bytes, empty or header only)."""
        rel = file_name(source, ctx, n)
        form = UNREADABLE_FORMS[int(rng.integers(0, 3))]
        if form == "garbage":
            data = rng.integers(0, 256, int(rng.integers(64, 4096)), dtype=np.uint8).tobytes()
        elif form == "empty":
            data = b""
        else:
            data = (",".join(SOURCES[source].fields) + "\n").encode()
        late = self._emit(ctx, source, rel, data)
        self.ledger.add_file_defect(source, rel, "unreadable_file", None, form)
        self.ledger.add_file(source, rel, 0, readable=False, late=late)


@dataclass(frozen=True)
class DayFiles:
    """One day's tables (source → rows, stale versions), everything its files depend on.

    Writing a day needs nothing from other days: its defects come from ``ctx.rng("defects")``
    and ``ctx.rng("files")``, so days can be written on another thread while the next one is
    generated.
    """

    ctx: DayContext
    tables: dict[str, tuple[pa.Table | Rows, pa.Table | None]]
    drift: str | None  # the source with the drifted column from this day on


@dataclass(frozen=True)
class DayWriter:
    """Writes whole days under ``out``: files, defects and the day's ledger entries."""

    out: Path
    rate: float
    incidents: list[Incident]
    last_index: int

    def __call__(self, day: DayFiles) -> tuple[date, Ledger]:
        """Write the files of one day; returns its date and its part of the ledger."""
        ctx = day.ctx
        ledger = Ledger()
        writer = SourceWriter(self.out, ledger, self.rate, self.incidents, self.last_index)
        rng = ctx.rng("defects")
        fresh = [0]
        counts: dict[str, int] = {}
        for source in SOURCE_ORDER:
            rows, stale = day.tables[source]
            if rows.num_rows == 0 and ctx.index > 0:
                continue
            table = materialise(rows)
            drift = DRIFT_COLUMNS[source] if source == day.drift else None
            counts[source] = writer.write(ctx, source, table, stale, rng, fresh, drift)
        files_rng = ctx.rng("files")
        if ctx.index > 0 and self.rate > 0 and files_rng.random() < min(0.9, 10 * self.rate):
            csv_sources = [s for s in counts if SOURCES[s].format == "csv"]
            source = csv_sources[int(files_rng.integers(0, len(csv_sources)))]
            writer.write_unreadable(ctx, source, counts[source] + 1, files_rng)
        return ctx.date, ledger

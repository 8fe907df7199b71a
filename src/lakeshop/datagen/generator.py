"""The day-by-day driver: state carried forward, one day's files written at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from .background import OrderedBackground
from .context import DayContext
from .customers import Customers, customers_day
from .events import FxRates, clickstream_day, inventory_day, make_inventory
from .formats import SOURCE_ORDER, Rows
from .incidents import Incident
from .incidents import check as check_incidents
from .ledger import Ledger
from .orders import Book, orders_day, seasonality
from .products import make_products, products_day
from .signals import make_signals
from .stores import make_stores
from .writer import DRIFT_COLUMNS, DayFiles, DayWriter

# days written on background threads while the next ones are generated, and how many days
# may wait (each holds its tables in memory)
WRITER_THREADS = 2
WRITER_DEPTH = 2


@dataclass
class GenerateResult:
    """What :func:`generate` wrote."""

    out: Path
    files: int
    rows: dict[str, int]
    defects: int
    seconds: float
    defects_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Data records written over all sources (defect copies included)."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput of the run."""
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0


def _check(days: int, scale: float, defects: float) -> None:
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    if not 0 <= defects <= 0.5:
        raise ValueError(f"defects must be a rate between 0 and 0.5, got {defects!r}")


def generate(
    out: Path,
    days: int,
    scale: float = 1.0,
    seed: int = 42,
    start_date: date = date(2026, 1, 1),
    defects: float = 0.02,
    progress: Callable[[date], None] | None = None,
    incidents: list[Incident] | None = None,
    signals: bool = False,
) -> GenerateResult:
    """Write ``days`` days of the synthetic retailer's source files under ``out``.

    Files of day D depend only on (seed, scale, start_date, defects, the incidents of days up
    to D) and days before D. ``_ledger.json`` lists every injected defect and incident; see
    :mod:`lakeshop.datagen.incidents`. With ``signals``, known signals for machine learning
    are planted and recorded in the ledger (:mod:`lakeshop.datagen.signals`); without, the
    output is as it always was. Raises ValueError on bad arguments.
    """
    _check(days, scale, defects)
    incidents = list(incidents or [])
    check_incidents(incidents, start_date, days)
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ledger = Ledger()
    setup = DayContext(seed, scale, start_date, defects, 0)
    stores = make_stores(setup)
    products = make_products(setup)
    inventory = make_inventory(setup, stores, products)
    customers, book, fx = Customers(), Book(), FxRates()
    planted = make_signals(setup, products, days) if signals else None
    drift_rng = np.random.default_rng([seed, 0, 12, 1])
    drift_source = str(drift_rng.choice(list(DRIFT_COLUMNS)))
    drift_day = 2 + int(drift_rng.integers(0, 3))
    carry: dict[str, list[pa.Table]] = {}
    counters = {"event": 1, "session": 1}
    rows = dict.fromkeys(SOURCE_ORDER, 0)

    def written(day: tuple[date, Ledger]) -> None:
        ledger.extend(day[1])
        if progress is not None:
            progress(day[0])

    write = DayWriter(out, defects, incidents, days - 1)
    with OrderedBackground(write, written, workers=WRITER_THREADS, depth=WRITER_DEPTH) as bg:
        for index in range(days):
            ctx = DayContext(seed, scale, start_date, defects, index)
            fx_table = fx.day(ctx)
            rates = fx.rates.copy()
            cust_today, cust_late, cust_stale = customers_day(ctx, customers)
            prod_today, prod_stale = products_day(ctx, products)
            od = orders_day(ctx, book, customers, products, stores, rates, incidents, planted)
            clicks, n_sessions = clickstream_day(
                ctx, od.web_orders, customers, products, counters["event"], counters["session"]
            )
            counters["event"] += clicks.num_rows
            counters["session"] += n_sessions
            tables: dict[str, tuple[pa.Table | Rows, pa.Table | None]] = {
                "customers": (
                    pa.concat_tables([*carry.pop("customers", []), cust_today]),
                    cust_stale,
                ),
                "products": (prod_today, prod_stale),
                "stores": (stores.table if index == 0 else stores.table.slice(0, 0), None),
                **{
                    k: (v, od.stale_lines if k == "order_items" else None)
                    for k, v in od.tables.items()
                },
                "inventory": (inventory_day(ctx, inventory), None),
                "fx_rates": (fx_table, None),
                "clickstream": (clicks, None),
            }
            carry["customers"] = [cust_late]
            drifted = defects > 0 and index >= drift_day
            bg.submit(DayFiles(ctx, tables, drift_source if drifted else None))
        bg.finish()
    for f in ledger.files:
        rows[f["source"]] += f["rows"]
    ledger.write(
        out / "_ledger.json",
        seed,
        scale,
        start_date,
        days,
        defects,
        [i.to_json() for i in sorted(incidents, key=lambda i: (i.day, i.kind))],
        None if planted is None else planted.ledger(setup, days, seasonality()),
    )
    return GenerateResult(
        out, len(ledger.files), rows, ledger.total, time.perf_counter() - t0, dict(ledger.counts)
    )


__all__ = ["GenerateResult", "generate"]

"""Per-day context: the date, its epoch bounds and deterministic per-stream RNGs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

EPOCH = date(1970, 1, 1)
DAY = 86_400

# stream ids for numpy.random.default_rng([seed, day_index, stream])
STREAMS = {
    "setup": 1,
    "stores": 2,
    "customers": 3,
    "products": 4,
    "orders": 5,
    "payments": 6,
    "clickstream": 7,
    "inventory": 8,
    "fx": 9,
    "defects": 10,
    "files": 11,
    "drift": 12,
    "incident": 13,
    "signals": 14,
}


@dataclass(frozen=True)
class DayContext:
    """Everything that identifies one generated day."""

    seed: int
    scale: float
    start_date: date
    defect_rate: float
    index: int

    @property
    def date(self) -> date:
        """The calendar date of this day."""
        return date.fromordinal(self.start_date.toordinal() + self.index)

    @property
    def epoch_day(self) -> int:
        """Days since 1970-01-01."""
        return (self.date - EPOCH).days

    @property
    def start(self) -> int:
        """Epoch seconds at 00:00:00 of this day."""
        return self.epoch_day * DAY

    def rng(self, stream: str, sub: int = 0) -> np.random.Generator:
        """A generator that depends only on (seed, day, stream, sub)."""
        return np.random.default_rng([self.seed, self.index, STREAMS[stream], sub])


def choose(rng: np.random.Generator, n: int, probs: tuple[float, ...]) -> npt.NDArray[np.int64]:
    """``n`` codes drawn with the relative weights ``probs`` (code ``i`` weighs ``probs[i]``)."""
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs)).astype(np.int64)

"""Stores: the store dimension, created on day 1 and fixed after."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .context import DAY, DayContext, choose
from .formats import (
    CHANNELS,
    CURRENCIES,
    FloatArray,
    IntArray,
    dates,
    ids,
    lookup,
    make_table,
    timestamps,
)
from .vocabulary import COUNTRY_CURRENCY, LOCATIONS, TAX_RATE


@dataclass
class Stores:
    """The store dimension (fixed after day 1)."""

    channel: IntArray
    currency: IntArray
    country: list[str]
    tax_rate: FloatArray
    weight: FloatArray
    table: pa.Table

    @property
    def count(self) -> int:
        """Number of stores."""
        return len(self.channel)


def make_stores(ctx: DayContext) -> Stores:
    """Create 8–20 stores over the three channels and four currencies."""
    rng = ctx.rng("stores")
    n = int(rng.integers(8, 21))
    countries = ["US", "DE", "GB", "CA"]  # one per currency first, then random
    countries += [str(c) for c in rng.choice(list(COUNTRY_CURRENCY), n - 4)]
    channel = np.zeros(n, dtype=np.int64)
    channel[1] = 1
    channel[2] = 2
    channel[4:] = choose(rng, n - 4, (0.6, 0.25, 0.15))
    city, names = [], []
    for i in range(n):  # loop over at most 20 stores
        locs = [j for j, loc in enumerate(LOCATIONS) if loc[2] == countries[i]]
        loc = LOCATIONS[int(rng.choice(locs))]
        city.append(loc[0] if channel[i] == 0 else None)
        label = {
            0: f"Lakeshop {loc[0]}",
            1: f"Lakeshop Online {countries[i]}",
            2: f"Lakeshop Marketplace {countries[i]}",
        }[int(channel[i])]
        names.append(label if label not in names else f"{label} {i + 1}")
    currency = np.array([CURRENCIES.index(COUNTRY_CURRENCY[c]) for c in countries])
    share = np.array([0.45, 0.4, 0.15])[channel]
    counts = np.bincount(channel, minlength=3)[channel]
    weight = share / counts * rng.uniform(0.7, 1.3, n)
    opened = ctx.epoch_day - rng.integers(200, 4000, n)
    updated = ctx.start - rng.integers(DAY, 200 * DAY, n)
    table = make_table(
        "stores",
        {
            "store_id": ids("S", np.arange(1, n + 1)),
            "name": pa.array(names, pa.string()),
            "channel": lookup(CHANNELS, channel),
            "city": pa.array(city, pa.string()),
            "country": pa.array(countries, pa.string()),
            "currency": lookup(CURRENCIES, currency),
            "opened_on": dates(opened),
            "updated_at": timestamps(updated),
        },
    )
    return Stores(
        channel,
        currency.astype(np.int64),
        countries,
        np.array([TAX_RATE[c] for c in countries]),
        weight / weight.sum(),
        table,
    )

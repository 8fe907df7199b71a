"""Ground truth for machine learning: known signals planted in the retailer (``--signals``).

Off by default (the generator's output is unchanged and pinned). When on, the generator adds,
from a random stream of its own:

- **category trends**: each category's share of demand grows or shrinks by a planted rate a
  year (a factor ``exp(rate * days / 365)`` on its products' weight);
- **promotions**: a few windows per category in which its products sell ``lift`` times as
  often at 85 % of the usual price;
- **intermittent products**: a tenth of the products beyond the top 100 sell only on some
  days (each day on sale with probability ``INTERMITTENT_ON``, at ``1 / INTERMITTENT_ON``
  times the weight, so their mean demand is unchanged and their series is lumpy);
- **a churn hazard per customer** that depends on what the data shows: each returned line
  and each late delivery (``LATE_DAYS`` or more from order to delivery) starts a customer
  "cooling" with a planted probability, on top of a small daily base hazard. A cooling
  customer orders ``COOLING_FACTOR`` as often (their frequency declines, visibly) and after
  ``COOLING_DAYS`` is gone for good.

The weekly and yearly seasonality exists in every generation (``orders.demand_factor``); the
ledger's ``signals`` section records it with the rest: every parameter, the intermittent
products, the promotions and every customer who started cooling (when, why, and when gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from .context import DayContext
from .customers import Customers
from .formats import BoolArray, FloatArray, IntArray, ids
from .products import Products
from .vocabulary import CATEGORIES

INTERMITTENT_SHARE = 0.10
INTERMITTENT_ON = 0.15
PROMOTIONS_PER_CATEGORY_YEAR = 4
PROMOTION_DAYS = (5, 15)
PROMOTION_LIFT = (1.6, 2.6)
PROMOTION_PRICE = 0.85
BASE_HAZARD = 0.0005  # a day
RETURN_HAZARD = 0.12  # per returned line
LATE_HAZARD = 0.08  # per late delivery
LATE_DAYS = 7
COOLING_FACTOR = 0.3
COOLING_DAYS = 30
#: causes of cooling, as recorded in the ledger
CAUSES = ("base", "return", "late_delivery")


@dataclass
class Signals:
    """The planted signals' parameters and the churn state of every customer."""

    trend: FloatArray  # per category, log growth a year
    promotions: list[tuple[int, int, int, float]]  # (category, first day index, days, lift)
    intermittent: BoolArray  # per product
    base_affinity: FloatArray = field(default_factory=lambda: np.zeros(0))
    cooling_from: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    cause: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    weekly: tuple[float, ...] = ()

    def promo_lift(self, index: int) -> FloatArray:
        """Demand lift per category on day ``index`` (1 outside promotions)."""
        lift = np.ones(len(CATEGORIES))
        for cat, first, days, factor in self.promotions:
            if first <= index < first + days:
                lift[cat] = factor
        return lift

    def product_weights(self, ctx: DayContext, prod: Products) -> FloatArray:
        """Today's product choice probabilities: popularity × trend × promotion × on/off."""
        cat = prod.category
        factor = np.exp(self.trend[cat] * ctx.index / 365.0) * self.promo_lift(ctx.index)[cat]
        on = ctx.rng("signals", 1).random(prod.count) < INTERMITTENT_ON
        factor = factor * np.where(self.intermittent, np.where(on, 1 / INTERMITTENT_ON, 0.0), 1.0)
        w: FloatArray = prod.popularity * factor
        return w / float(w.sum())

    def price_factor(self, ctx: DayContext, product_category: IntArray) -> FloatArray:
        """Price multiplier of lines (categories on promotion sell at ``PROMOTION_PRICE``)."""
        promo = self.promo_lift(ctx.index) > 1
        return np.where(promo[product_category], PROMOTION_PRICE, 1.0)

    def observe(
        self,
        ctx: DayContext,
        cust: Customers,
        line_customer: IntArray,
        return_day: IntArray,
        deliver_day: IntArray,
    ) -> None:
        """Advance the churn state by one day, given today's new lines: their customer, the
        epoch day of their return and of their delivery (negative: none). A return or a late
        delivery starts the cooling on the day it happens (when the data can show it)."""
        self.track(cust)
        rng = ctx.rng("signals", 2)
        n, today = cust.count, ctx.epoch_day
        never = np.iinfo(np.int64).max
        start = np.full(n, never, np.int64)
        cause = np.zeros(n, np.int64)
        base = np.flatnonzero(rng.random(n) < BASE_HAZARD)
        start[base] = ctx.index + 1  # today's orders are placed already
        late = (deliver_day >= 0) & (deliver_day - today >= LATE_DAYS)
        for code, hit, when in ((1, return_day >= 0, return_day), (2, late, deliver_day)):
            fire = np.flatnonzero(
                hit & (rng.random(len(hit)) < (RETURN_HAZARD, LATE_HAZARD)[code - 1])
            )
            at = ctx.index + when[fire] - today
            who = line_customer[fire]
            earlier = at < start[who]
            start[who[earlier]] = at[earlier]
            cause[who[earlier]] = code
        new = (start < never) & ((self.cooling_from < 0) | (start < self.cooling_from))
        self.cooling_from[new] = start[new]
        self.cause[new] = cause[new]
        # the affinity of tomorrow's orders
        tomorrow = ctx.index + 1
        cooling = (self.cooling_from >= 0) & (self.cooling_from <= tomorrow)
        gone = cooling & (tomorrow - self.cooling_from >= COOLING_DAYS)
        cust.affinity[cooling] = self.base_affinity[cooling] * COOLING_FACTOR
        cust.affinity[gone] = 0.0

    def track(self, cust: Customers) -> None:
        """Customers created since the last day: their base affinity, not cooling."""
        k = cust.count - len(self.cooling_from)
        if k > 0:
            self.base_affinity = np.concatenate([self.base_affinity, cust.affinity[-k:]])
            self.cooling_from = np.concatenate([self.cooling_from, np.full(k, -1, np.int64)])
            self.cause = np.concatenate([self.cause, np.zeros(k, np.int64)])

    def ledger(self, ctx: DayContext, days: int, seasonality: dict[str, Any]) -> dict[str, Any]:
        """The ``signals`` section of ``_ledger.json``."""
        start = ctx.start_date.toordinal()

        def day(index: int) -> str:
            return date.fromordinal(start + index).isoformat()

        who = np.flatnonzero((self.cooling_from >= 0) & (self.cooling_from < days))
        customer_ids = ids("C", who + 1).to_pylist()
        return {
            "seasonality": seasonality,
            "categories": {
                CATEGORIES[c][0]: {
                    "trend_per_year": round(float(self.trend[c]), 4),
                    "promotions": [
                        {
                            "from": day(f),
                            "days": d,
                            "lift": round(lift, 3),
                            "price": PROMOTION_PRICE,
                        }
                        for cat, f, d, lift in self.promotions
                        if cat == c
                    ],
                }
                for c in range(len(CATEGORIES))
            },
            "intermittent_products": ids("P", np.flatnonzero(self.intermittent) + 1).to_pylist(),
            "intermittent_on_probability": INTERMITTENT_ON,
            "churn": {
                "base_hazard_per_day": BASE_HAZARD,
                "return_hazard": RETURN_HAZARD,
                "late_delivery_hazard": LATE_HAZARD,
                "late_delivery_days": LATE_DAYS,
                "cooling_factor": COOLING_FACTOR,
                "cooling_days": COOLING_DAYS,
                "customers": [
                    {
                        "customer_id": customer_ids[k],
                        "cooling_from": day(int(self.cooling_from[i])),
                        "gone_from": day(int(self.cooling_from[i]) + COOLING_DAYS),
                        "cause": CAUSES[int(self.cause[i])],
                    }
                    for k, i in enumerate(who)
                ],
            },
        }


def make_signals(setup: DayContext, prod: Products, days: int) -> Signals:
    """Draw the planted signals (their own random stream: the rest of the output is as
    without them, up to the orders they change)."""
    rng = setup.rng("signals")
    n_cat = len(CATEGORIES)
    trend = rng.uniform(-0.35, 0.45, n_cat)
    promotions: list[tuple[int, int, int, float]] = []
    per_cat = max(1, round(PROMOTIONS_PER_CATEGORY_YEAR * days / 365))
    for c in range(n_cat):
        for _ in range(per_cat):
            first = int(rng.integers(0, max(1, days)))
            length = int(rng.integers(PROMOTION_DAYS[0], PROMOTION_DAYS[1] + 1))
            promotions.append((c, first, length, float(rng.uniform(*PROMOTION_LIFT))))
    rank = np.argsort(np.argsort(-prod.popularity))
    tail = rank >= min(100, prod.count // 2)
    intermittent = tail & (rng.random(prod.count) < INTERMITTENT_SHARE)
    return Signals(trend, promotions, intermittent)

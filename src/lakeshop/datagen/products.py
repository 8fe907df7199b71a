"""Products: prices (in USD cents) that change over time, popularity, and their daily rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .context import DAY, DayContext
from .formats import (
    BoolArray,
    FloatArray,
    IntArray,
    constant,
    ids,
    integers_text,
    lookup,
    make_table,
    money,
    timestamps,
)
from .vocabulary import ADJECTIVES, BRANDS, CATEGORIES


@dataclass
class Products:
    """Product state: prices (USD cents), popularity and the previous price version."""

    category: IntArray
    sub: IntArray
    brand: IntArray
    adjective: IntArray
    price: IntArray
    cost: IntArray
    active: BoolArray
    updated: IntArray
    popularity: FloatArray
    prev_price: IntArray
    prev_updated: IntArray
    prev_ok: BoolArray

    @property
    def count(self) -> int:
        """Number of products."""
        return len(self.price)


def make_products(ctx: DayContext) -> Products:
    """Create ~2,000×√scale products with a Pareto popularity."""
    rng = ctx.rng("products", 1)
    n = max(20, round(2000 * ctx.scale**0.5))
    cat = rng.integers(0, len(CATEGORIES), n)
    n_sub = np.array([len(c[1]) for c in CATEGORIES])[cat]
    sub = (rng.random(n) * n_sub).astype(np.int64)
    mu = np.array([c[2] for c in CATEGORIES])[cat]
    price = np.maximum(199, np.round(np.exp(rng.normal(mu, 0.5)) * 100 / 100) * 100 - 1)
    price = price.astype(np.int64)
    cost = np.maximum(1, (price * rng.uniform(0.35, 0.7, n)).astype(np.int64))
    active = rng.random(n) > 0.03
    rank = rng.permutation(n) + 1.0
    popularity = np.where(active, 1.0 / rank**1.15, 0.0)
    updated = ctx.start - rng.integers(DAY, 400 * DAY, n)
    return Products(
        cat,
        sub,
        rng.integers(0, len(BRANDS), n),
        rng.integers(0, len(ADJECTIVES), n),
        price,
        cost,
        active,
        updated,
        popularity / popularity.sum(),
        price.copy(),
        updated.copy(),
        np.zeros(n, bool),
    )


def render_products(p: Products, idx: IntArray, price: IntArray, updated: IntArray) -> pa.Table:
    """Render product rows for ``idx`` with the given price and update time."""
    subs = [s for c in CATEGORIES for s in c[1]]
    offset = np.cumsum([0] + [len(c[1]) for c in CATEGORIES])[:-1]
    sub_code = offset[p.category[idx]] + p.sub[idx]
    cat_code = lookup([c[0][:3].upper() for c in CATEGORIES], p.category[idx])
    num = pc.utf8_lpad(integers_text(idx + 1), width=6, padding="0")
    model = integers_text((idx * 37) % 900 + 100)
    return make_table(
        "products",
        {
            "product_id": ids("P", idx + 1),
            "sku": pc.binary_join_element_wise("SKU", cat_code, num, "-"),
            "name": pc.binary_join_element_wise(
                lookup(BRANDS, p.brand[idx]),
                lookup(ADJECTIVES, p.adjective[idx]),
                lookup(subs, sub_code),
                model,
                " ",
            ),
            "category": lookup([c[0] for c in CATEGORIES], p.category[idx]),
            "subcategory": lookup(subs, sub_code),
            "brand": lookup(BRANDS, p.brand[idx]),
            "list_price": money(price),
            "unit_cost": money(p.cost[idx]),
            "currency": constant("USD", len(idx)),
            "is_active": lookup(("false", "true"), p.active[idx].astype(np.int64)),
            "updated_at": timestamps(updated),
        },
    )


def products_day(ctx: DayContext, p: Products) -> tuple[pa.Table, pa.Table]:
    """Today's product rows (all on day 1, then price changes) and stale previous versions."""
    rng = ctx.rng("products")
    stale_idx = np.flatnonzero(p.prev_ok)
    stale = render_products(p, stale_idx, p.prev_price[stale_idx], p.prev_updated[stale_idx])
    if ctx.index == 0:
        idx = np.arange(p.count)
        return render_products(p, idx, p.price, p.updated), stale
    n_chg = max(1, int(rng.poisson(p.count * 0.005)))
    idx = np.sort(rng.choice(p.count, min(n_chg, p.count), replace=False))
    p.prev_price[idx], p.prev_updated[idx], p.prev_ok[idx] = p.price[idx], p.updated[idx], True
    factor = rng.uniform(0.85, 1.15, len(idx))
    p.price[idx] = np.maximum(99, np.round(p.price[idx] * factor / 100) * 100 - 1).astype(np.int64)
    p.updated[idx] = ctx.start + rng.integers(0, DAY, len(idx))
    return render_products(p, idx, p.price[idx], p.updated[idx]), stale

"""Exchange rates, inventory snapshots and web clickstream."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa

from .context import DayContext
from .customers import Customers
from .formats import (
    CURRENCIES,
    DEVICES,
    EVENT_TYPES,
    FloatArray,
    IntArray,
    Rows,
    dates,
    fixed,
    ids,
    integers,
    lookup,
    make_table,
    timestamps,
)
from .products import Products
from .stores import Stores

_BASE_RATES = np.array([1.0, 1.08, 1.27, 0.74])  # USD per unit of USD, EUR, GBP, CAD


class FxRates:
    """Daily rates to the base currency (USD) as a small random walk."""

    def __init__(self) -> None:
        self.rates: FloatArray = _BASE_RATES.copy()

    def day(self, ctx: DayContext) -> pa.Table:
        """Advance the walk one day and return today's rows (USD at 1.000000)."""
        rng = ctx.rng("fx")
        step = np.exp(rng.normal(0.0, 0.004, len(CURRENCIES)))
        step[0] = 1.0
        micro = np.round(self.rates * step * 1e6).astype(np.int64)
        self.rates = micro / 1e6
        n = len(CURRENCIES)
        return make_table(
            "fx_rates",
            {
                "rate_date": dates(np.full(n, ctx.epoch_day)),
                "currency": lookup(CURRENCIES, np.arange(n)),
                "rate_to_base": fixed(micro, 6),
            },
        )


@dataclass
class Inventory:
    """Each store stocks a fixed set of products; on-hand quantities evolve daily."""

    store: IntArray
    product: IntArray
    on_hand: IntArray
    reorder: IntArray
    demand: FloatArray


def make_inventory(ctx: DayContext, stores: Stores, prod: Products) -> Inventory:
    """Choose stocked products per store, bounded to ~1.5× the daily order lines overall."""
    rng = ctx.rng("inventory", 1)
    active = int(prod.active.sum())
    k = int(np.clip(round(1.5 * 20_000 * ctx.scale / stores.count), 3, active))
    keys = (
        np.log(np.maximum(prod.popularity, 1e-300))[None, :]
        + rng.gumbel(size=(stores.count, prod.count)) * 1.5
    )
    top = np.sort(np.argsort(-keys, axis=1)[:, :k], axis=1)  # weighted sample without replacement
    product = top.ravel().astype(np.int64)
    store = np.repeat(np.arange(stores.count), k).astype(np.int64)
    demand = prod.popularity[product] * 20_000 * ctx.scale * 0.5 * stores.weight[store]
    reorder = np.maximum(2, np.round(demand * 5)).astype(np.int64)
    on_hand = reorder * 3 + rng.integers(0, 10, len(product))
    return Inventory(store, product, on_hand, reorder, demand)


def inventory_day(ctx: DayContext, inv: Inventory) -> pa.Table:
    """Sell, restock and snapshot today's stock per store × stocked product."""
    rng = ctx.rng("inventory")
    n = len(inv.store)
    inv.on_hand = np.maximum(0, inv.on_hand - rng.poisson(inv.demand))
    restock = (inv.on_hand < inv.reorder) & (rng.random(n) < 0.6)
    inv.on_hand = inv.on_hand + np.where(restock, inv.reorder * 3, 0)
    return make_table(
        "inventory",
        {
            "snapshot_date": dates(np.full(n, ctx.epoch_day)),
            "store_id": ids("S", inv.store + 1),
            "product_id": ids("P", inv.product + 1),
            "on_hand_qty": integers(inv.on_hand),
            "reorder_point": integers(inv.reorder),
        },
    )


def clickstream_day(
    ctx: DayContext,
    web: dict[str, IntArray],
    cust: Customers,
    prod: Products,
    first_event: int,
    first_session: int,
) -> tuple[Rows, int]:
    """Sessions ending in today's web orders, plus abandoned browsing sessions.

    A purchasing session has a view and an add_to_cart per line, a checkout and a purchase.
    """
    rng = ctx.rng("clickstream")
    n_web = len(web["num"])
    n_ab = max(1, int(rng.poisson(max(1.0, 0.35 * n_web))))
    # purchase sessions
    o_index = np.searchsorted(web["num"], web["line_order"])
    n_lines = np.bincount(o_index, minlength=n_web)
    per_order = 2 * n_lines + 2
    so = np.repeat(np.arange(n_web), per_order)
    pos = np.arange(len(so)) - (np.cumsum(per_order) - per_order)[so]
    first_line = np.cumsum(n_lines) - n_lines
    li = first_line[so] + np.minimum(pos // 2, np.maximum(n_lines[so] - 1, 0))
    is_line_ev = pos < 2 * n_lines[so]
    etype = np.where(is_line_ev, pos % 2, np.where(pos == 2 * n_lines[so], 2, 3))
    product = np.where(
        is_line_ev, web["line_product"][np.minimum(li, len(li) - 1)] if len(li) else 0, -1
    )
    back = (per_order[so] - pos) * rng.integers(20, 90, len(so))
    ts = np.maximum(ctx.start, web["ts"][so] - back + 60)
    ts = np.where(etype == 3, web["ts"][so], ts)
    customer = web["customer"][so]
    # abandoned sessions
    views = 1 + rng.geometric(0.6, n_ab) - 1
    cart = rng.random(n_ab) < 0.25
    per_ab = views + cart
    sa = np.repeat(np.arange(n_ab), per_ab)
    apos = np.arange(len(sa)) - (np.cumsum(per_ab) - per_ab)[sa]
    a_type = np.where(apos >= views[sa], 1, 0)
    a_prod = rng.choice(prod.count, len(sa), p=prod.popularity)
    a_start = ctx.start + rng.integers(0, 86_000, n_ab)
    a_ts = np.minimum(ctx.start + 86_399, a_start[sa] + apos * rng.integers(15, 120, len(sa)))
    known = rng.random(n_ab) < 0.6
    a_cust = np.where(known, rng.integers(0, max(1, cust.orderable), n_ab), -1)[sa]
    # combine and order by time
    session = np.concatenate([so, n_web + sa])
    all_ts = np.concatenate([ts, a_ts])
    order = np.lexsort((np.arange(len(all_ts)), all_ts))
    n_sessions = n_web + n_ab
    device = rng.choice(3, n_sessions, p=[0.45, 0.45, 0.1])
    etypes = np.concatenate([etype, a_type])[order]
    products = np.concatenate([product, a_prod])[order]
    customers = np.concatenate([customer, a_cust])[order]
    sessions = session[order]
    columns = {
        "event": first_event + np.arange(len(order)),
        "session": first_session + sessions,
        "customer": customers,
        "type": etypes,
        "product": products,
        "ts": all_ts[order],
        "device": device[sessions],
    }
    return Rows(len(order), partial(_render_clicks, columns)), n_sessions


def _render_clicks(c: dict[str, IntArray]) -> pa.Table:
    return make_table(
        "clickstream",
        {
            "event_id": ids("E", c["event"]),
            "session_id": ids("SES", c["session"]),
            "customer_id": _masked(ids("C", c["customer"] + 1), c["customer"] < 0),
            "event_type": lookup(EVENT_TYPES, c["type"]),
            "product_id": _masked(ids("P", c["product"] + 1), c["product"] < 0),
            "event_ts": timestamps(c["ts"]),
            "device": lookup(DEVICES, c["device"]),
        },
    )


def _masked(arr: pa.Array, mask: IntArray | np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(np.asarray(mask, bool)), pa.scalar(None, pa.string()), arr)


__all__ = ["FxRates", "Inventory", "clickstream_day", "inventory_day", "make_inventory"]

"""Orders, order lines, payments, returns and refunds, with line lifecycles over days."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa

from .context import DAY, DayContext
from .customers import Customers
from .formats import (
    CARD_BRANDS,
    CHANNELS,
    CURRENCIES,
    ITEM_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    PAYMENT_TYPES,
    REFUND_STATUSES,
    RETURN_REASONS,
    FloatArray,
    IntArray,
    Rows,
    ids,
    integers,
    lookup,
    make_table,
    money,
    timestamps,
)
from .incidents import Incident, order_filter
from .products import Products
from .signals import Signals
from .stores import Stores

NONE = -1  # "no such event" in timestamp columns
LINES_PER_ORDER = 2.5
_WEEKDAY = np.array([0.92, 0.9, 0.93, 0.97, 1.06, 1.15, 1.07])  # Monday first
YEARLY_AMPLITUDE, YEARLY_PEAK = 0.12, 355  # demand peaks before Christmas
_HOURS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 6, 7, 6.5, 6, 5.5, 5.5, 6, 7, 8, 8, 6.5, 4, 2]
)


def demand_factor(ctx: DayContext) -> float:
    """Yearly seasonality (peak before Christmas) times a weekday effect."""
    doy = ctx.date.timetuple().tm_yday
    season = 1.0 + YEARLY_AMPLITUDE * np.cos(2 * np.pi * (doy - YEARLY_PEAK) / 365.25)
    return float(season * _WEEKDAY[ctx.date.weekday()] / _WEEKDAY.mean())


def seasonality() -> dict[str, object]:
    """The seasonality of :func:`demand_factor`, as the ledger records it."""
    return {
        "weekly_factor_monday_first": [round(float(w / _WEEKDAY.mean()), 4) for w in _WEEKDAY],
        "yearly_amplitude": YEARLY_AMPLITUDE,
        "yearly_peak_day_of_year": YEARLY_PEAK,
    }


@dataclass
class Book:
    """Bounded state: orders and lines with lifecycle events still to come."""

    orders: dict[str, IntArray] = field(default_factory=dict)
    lines: dict[str, IntArray] = field(default_factory=dict)
    next_order: int = 1
    next_payment: int = 1
    next_return: int = 1
    next_refund: int = 1
    payments_today: dict[str, IntArray] = field(default_factory=dict)


def _day(ts: IntArray) -> IntArray:
    """Epoch day of epoch seconds, NONE stays NONE."""
    return np.where(ts == NONE, NONE, ts // DAY)


def _concat(old: dict[str, IntArray], new: dict[str, IntArray]) -> dict[str, IntArray]:
    if not old:
        return new
    return {k: np.concatenate([old[k], new[k]]) for k in new}


def _take(
    d: dict[str, IntArray], idx: IntArray, keys: tuple[str, ...] | None = None
) -> dict[str, IntArray]:
    return {k: d[k][idx] for k in keys or d}


# the columns of the book that rendering reads
LINE_COLUMNS = ("order", "line_no", "product", "qty", "unit", "disc", "tax", "ship", "deliver")
ORDER_COLUMNS = ("num", "customer", "store", "ts")


def _new_orders(
    ctx: DayContext,
    book: Book,
    cust: Customers,
    prod: Products,
    stores: Stores,
    rates: FloatArray,
    incidents: list[Incident],
    signals: Signals | None = None,
) -> None:
    """Place today's orders and decide the full lifecycle of their lines."""
    rng = ctx.rng("orders")
    mean = 20_000 * ctx.scale / LINES_PER_ORDER * demand_factor(ctx)
    n = max(1, int(rng.poisson(mean)))
    hour = rng.choice(24, n, p=_HOURS / _HOURS.sum())
    ts = np.sort(ctx.start + hour * 3600 + rng.integers(0, 3600, n))
    aff = cust.affinity[: cust.orderable]
    customer = rng.choice(cust.orderable, n, p=aff / aff.sum())
    store = rng.choice(stores.count, n, p=stores.weight)
    keep = order_filter(ctx, incidents, stores.channel[store])
    if keep is not None:  # an incident: most of the day's orders never happen
        ts, customer, store = ts[keep], customer[keep], store[keep]
        n = len(ts)
    n_lines = np.minimum(12, 1 + rng.poisson(LINES_PER_ORDER - 1, n))
    onum = book.next_order + np.arange(n)
    book.next_order += n
    # lines
    m = int(n_lines.sum())
    oi = np.repeat(np.arange(n), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_no = np.arange(m) - starts[oi] + 1
    weights = prod.popularity if signals is None else signals.product_weights(ctx, prod)
    product = rng.choice(prod.count, m, p=weights)
    qty = 1 + rng.poisson(0.45, m)
    cur = stores.currency[store][oi]
    promo = np.where(rng.random(m) < 0.08, rng.uniform(0.8, 0.95, m), 1.0)
    if signals is not None:
        promo = promo * signals.price_factor(ctx, prod.category[product])
    unit = np.maximum(1, np.round(prod.price[product] / rates[cur] * promo)).astype(np.int64)
    gross = qty * unit
    disc = np.where(rng.random(m) < 0.15, np.round(gross * rng.uniform(0.05, 0.3, m)), 0)
    disc = disc.astype(np.int64)
    tax = np.round((gross - disc) * stores.tax_rate[store][oi]).astype(np.int64)
    total = gross - disc + tax
    ots = ts[oi]
    instore = stores.channel[store][oi] == 0  # taken home at once: delivered at order time
    cancelled = (~instore) & (rng.random(m) < 0.03)
    cancel_ts = np.where(cancelled, ots + rng.integers(600, 6 * 3600, m), NONE)
    ship_day = ctx.epoch_day + 1 + rng.choice(3, m, p=[0.5, 0.35, 0.15])
    ship_ts = np.where(cancelled, NONE, ship_day * DAY + rng.integers(6 * 3600, 20 * 3600, m))
    deliver_ts = np.where(
        cancelled,
        NONE,
        (ship_day + rng.integers(1, 6, m)) * DAY + rng.integers(8 * 3600, 21 * 3600, m),
    )
    ship_ts = np.where(instore, ots, ship_ts)
    deliver_ts = np.where(instore, ots, deliver_ts)
    late = (~cancelled) & (~instore) & (rng.random(m) < 0.02)  # shipped row after delivered
    ship_emit = np.where(late, _day(deliver_ts) + 1 + rng.integers(0, 2, m), _day(ship_ts))
    ship_emit = np.where(instore, NONE, ship_emit)
    returned = (~cancelled) & (rng.random(m) < 0.05)
    delay = np.where(instore, rng.integers(0, 14, m), rng.integers(2, 30, m))
    return_ts = np.where(returned, deliver_ts + delay * DAY + rng.integers(3600, 6 * 3600, m), NONE)
    if instore.any() and not (returned & instore & (delay == 0)).any():
        # at least one same-day in-store return, so that every day has returns and refunds
        j = int(rng.choice(np.flatnonzero(instore)))
        returned[j], delay[j], return_ts[j] = True, 0, ots[j] + 600
    return_ts = np.where(
        returned, np.minimum(return_ts, (return_ts // DAY) * DAY + DAY - 120), NONE
    )
    return_ts = np.where(
        returned & instore & (delay == 0), np.minimum(return_ts, ctx.start + DAY - 120), return_ts
    )
    return_qty = 1 + (rng.random(m) * qty).astype(np.int64)
    return_amt = total * return_qty // qty
    refunded = returned & ((rng.random(m) < 0.9) | (instore & (delay == 0)))
    refund_delay = np.where(instore, 60, rng.integers(1, 4, m) * DAY)
    refund_ts = np.where(refunded, return_ts + refund_delay, NONE)
    # orders: payment amount over non-cancelled lines; status milestones
    live_total = np.add.reduceat(np.where(cancelled, 0, total), starts)
    all_total = np.add.reduceat(total, starts)
    all_cancelled = np.add.reduceat((~cancelled).astype(np.int64), starts) == 0
    o_instore = stores.channel[store] == 0
    o_ship = np.where(o_instore, NONE, np.maximum.reduceat(ship_ts, starts))
    o_deliver = np.where(o_instore, NONE, np.maximum.reduceat(deliver_ts, starts))
    o_cancel = np.where(all_cancelled, np.maximum.reduceat(cancel_ts, starts), NONE)
    pay_type = rng.choice(4, n, p=[0.65, 0.2, 0.05, 0.1])
    retry = (~all_cancelled) & (rng.random(n) < 0.03)
    captured = ~all_cancelled
    n_pay = retry.astype(np.int64) + 1  # all-cancelled orders: one failed attempt
    pay_first = book.next_payment + np.cumsum(n_pay) - n_pay
    book.next_payment += int(n_pay.sum())
    pay_ok = np.where(captured, pay_first + n_pay - 1, NONE)
    book.orders = _concat(
        book.orders,
        {
            "num": onum,
            "customer": customer,
            "store": store,
            "ts": ts,
            "ship": o_ship,
            "deliver": o_deliver,
            "cancel": o_cancel,
            "initial": np.where(o_instore, 2, 0),
        },
    )
    book.lines = _concat(
        book.lines,
        {
            "order": onum[oi],
            "line_no": line_no,
            "product": product,
            "qty": qty,
            "unit": unit,
            "disc": disc,
            "tax": tax,
            "order_ts": ots,
            "cancel": cancel_ts,
            "ship": ship_ts,
            "ship_emit": ship_emit,
            "deliver": deliver_ts,
            "ret": return_ts,
            "ret_qty": return_qty,
            "ret_amt": return_amt,
            "ret_reason": rng.choice(len(RETURN_REASONS), m),
            "refund": refund_ts,
            "refund_ok": (rng.random(m) < 0.93).astype(np.int64),
            "payment": pay_ok[oi],
            "currency": cur,
            "instore": instore.astype(np.int64),
        },
    )
    book.payments_today = {
        "first": pay_first,
        "n": n_pay,
        "order": onum,
        "ts": ts,
        "type": pay_type,
        "amount": np.where(all_cancelled, all_total, live_total),
        "captured": captured.astype(np.int64),
        "currency": stores.currency[store],
    }


def render_lines(d: dict[str, IntArray], status: IntArray | int, updated: IntArray) -> pa.Table:
    """Render order-line rows in the given lifecycle status(es)."""
    n = len(d["order"])
    status = np.broadcast_to(np.asarray(status, dtype=np.int64), (n,))
    shipped = (status == 1) | (status == 2)
    return make_table(
        "order_items",
        {
            "order_id": ids("O", d["order"]),
            "line_no": integers(d["line_no"]),
            "product_id": ids("P", d["product"] + 1),
            "quantity": integers(d["qty"]),
            "unit_price": money(d["unit"]),
            "discount_amount": money(d["disc"]),
            "tax_amount": money(d["tax"]),
            "item_status": lookup(ITEM_STATUSES, status),
            "shipped_at": timestamps(d["ship"], mask=~shipped),
            "delivered_at": timestamps(d["deliver"], mask=status != 2),
            "updated_at": timestamps(updated),
        },
    )


def _render_orders(
    o: dict[str, IntArray], stores: Stores, status: IntArray | int, updated: IntArray
) -> pa.Table:
    n = len(o["num"])
    status = np.broadcast_to(np.asarray(status, dtype=np.int64), (n,))
    return make_table(
        "orders",
        {
            "order_id": ids("O", o["num"]),
            "customer_id": ids("C", o["customer"] + 1),
            "store_id": ids("S", o["store"] + 1),
            "channel": lookup(CHANNELS, stores.channel[o["store"]]),
            "order_ts": timestamps(o["ts"]),
            "currency": lookup(CURRENCIES, stores.currency[o["store"]]),
            "status": lookup(ORDER_STATUSES, status),
            "updated_at": timestamps(updated),
        },
    )


def _by_update(
    rows: list[tuple[IntArray, IntArray, IntArray]],
) -> tuple[IntArray, IntArray, IntArray]:
    """Concatenate (row index, status, updated) parts, stably ordered by update time: sorted
    before rendering, so each source-day is rendered once."""
    sel, status, updated = (np.concatenate([r[i] for r in rows]) for i in range(3))
    order = np.argsort(updated, kind="stable")
    return sel[order], status[order].astype(np.int64), updated[order]


@dataclass
class OrderDay:
    """One day's rows of the order-related sources, plus stale line versions."""

    tables: dict[str, pa.Table | Rows]
    stale_lines: pa.Table
    web_orders: dict[str, IntArray]
    n_lines_today: int


def orders_day(
    ctx: DayContext,
    book: Book,
    cust: Customers,
    prod: Products,
    stores: Stores,
    rates: FloatArray,
    incidents: list[Incident] | None = None,
    signals: Signals | None = None,
) -> OrderDay:
    """Place today's orders and emit every lifecycle event that falls on today."""
    d = ctx.epoch_day
    rng = ctx.rng("payments")
    # stale candidates: pending versions of lines whose shipped version was already sent
    L = book.lines
    if L:
        cand = np.flatnonzero((L["ship_emit"] < d) & (L["ship_emit"] != NONE))
        cand = cand[rng.permutation(len(cand))[:500]]
        stale = render_lines(_take(L, cand, LINE_COLUMNS), 0, L["order_ts"][cand])
    else:
        stale = None
    first_line = len(book.lines["order"]) if book.lines else 0
    first_order = len(book.orders["num"]) if book.orders else 0
    _new_orders(ctx, book, cust, prod, stores, rates, incidents or [], signals)
    L, Od = book.lines, book.orders
    if signals is not None:
        _observe(ctx, book, cust, signals, first_line, first_order)
    if stale is None:
        stale = render_lines(_take(L, np.zeros(0, np.int64)), 0, np.zeros(0, np.int64))
    new_l = np.arange(first_line, len(L["order"]))
    new_o = np.arange(first_order, len(Od["num"]))
    # order lines: pending (new), cancelled, shipped, delivered
    rows = [(new_l, 2 * L["instore"][new_l], L["order_ts"][new_l])]
    for code, col, emit in (
        (3, "cancel", _day(L["cancel"])),
        (1, "ship", L["ship_emit"]),
        (2, "deliver", np.where(L["instore"] == 1, NONE, _day(L["deliver"]))),
    ):
        sel = np.flatnonzero(emit == d)
        rows.append((sel, np.full(len(sel), code), L[col][sel]))
    sel, status, updated = _by_update(rows)
    items = Rows(len(sel), partial(render_lines, _take(L, sel, LINE_COLUMNS), status, updated))
    # orders: placed (new) and status milestones
    rows = [(new_o, Od["initial"][new_o], Od["ts"][new_o])]
    for code, col in ((3, "cancel"), (1, "ship"), (2, "deliver")):
        sel = np.flatnonzero(_day(Od[col]) == d)
        rows.append((sel, np.full(len(sel), code), Od[col][sel]))
    sel, status, updated = _by_update(rows)
    orders = Rows(
        len(sel), partial(_render_orders, _take(Od, sel, ORDER_COLUMNS), stores, status, updated)
    )
    payments = _payments(ctx, book, rng)
    returns, refunds = _returns_refunds(ctx, book)
    web = _take(Od, new_o[stores.channel[Od["store"][new_o]] != 0])
    web_lines = np.flatnonzero(np.isin(L["order"][new_l], web["num"])) + first_line
    web_orders = {
        "num": web["num"],
        "customer": web["customer"],
        "ts": web["ts"],
        "line_order": L["order"][web_lines],
        "line_product": L["product"][web_lines],
    }
    _prune(ctx, book)
    return OrderDay(
        {
            "orders": orders,
            "order_items": items,
            "payments": payments,
            "returns": returns,
            "refunds": refunds,
        },
        stale,
        web_orders,
        len(new_l),
    )


def _payments(ctx: DayContext, book: Book, rng: np.random.Generator) -> Rows:
    p = book.payments_today
    n_pay = p["n"]
    k = int(n_pay.sum())
    oi = np.repeat(np.arange(len(n_pay)), n_pay)
    attempt = np.arange(k) - (np.cumsum(n_pay) - n_pay)[oi]
    last = attempt == n_pay[oi] - 1
    ok = last & p["captured"][oi].astype(bool)
    end = ctx.start + DAY - 1
    ts = np.minimum(end, p["ts"][oi] + rng.integers(5, 60, k) + attempt * rng.integers(60, 600, k))
    ptype = p["type"][oi]
    ptype = np.where(~last, 0, ptype)  # failed first attempts are card payments
    brand = rng.choice(3, k, p=[0.55, 0.35, 0.1])
    columns = {
        "payment": p["first"][oi] + attempt,
        "order": p["order"][oi],
        "type": ptype,
        "brand": brand,
        "amount": p["amount"][oi],
        "currency": p["currency"][oi],
        "failed": (~ok).astype(np.int64),
        "ts": ts,
    }
    return Rows(k, partial(_render_payments, columns))


def _render_payments(c: dict[str, IntArray]) -> pa.Table:
    return make_table(
        "payments",
        {
            "payment_id": ids("PAY", c["payment"]),
            "order_id": ids("O", c["order"]),
            "payment_type": lookup(PAYMENT_TYPES, c["type"]),
            "card_brand": lookup(CARD_BRANDS, c["brand"], mask=c["type"] != 0),
            "amount": money(c["amount"]),
            "currency": lookup(CURRENCIES, c["currency"]),
            "status": lookup(PAYMENT_STATUSES, c["failed"]),
            "transaction_ts": timestamps(c["ts"]),
        },
    )


def _returns_refunds(ctx: DayContext, book: Book) -> tuple[pa.Table, pa.Table]:
    L = book.lines
    d = ctx.epoch_day
    sel = np.flatnonzero(_day(L["ret"]) == d)
    sel = sel[np.argsort(L["ret"][sel], kind="stable")]
    rid = book.next_return + np.arange(len(sel))
    book.next_return += len(sel)
    returns = make_table(
        "returns",
        {
            "return_id": ids("R", rid),
            "order_id": ids("O", L["order"][sel]),
            "line_no": integers(L["line_no"][sel]),
            "return_qty": integers(L["ret_qty"][sel]),
            "return_amount": money(L["ret_amt"][sel]),
            "reason": lookup(RETURN_REASONS, L["ret_reason"][sel]),
            "returned_at": timestamps(L["ret"][sel]),
        },
    )
    sel = np.flatnonzero(_day(L["refund"]) == d)
    sel = sel[np.argsort(L["refund"][sel], kind="stable")]
    fid = book.next_refund + np.arange(len(sel))
    book.next_refund += len(sel)
    refunds = make_table(
        "refunds",
        {
            "refund_id": ids("REF", fid),
            "payment_id": ids("PAY", L["payment"][sel]),
            "amount": money(L["ret_amt"][sel]),
            "reason": lookup(RETURN_REASONS, L["ret_reason"][sel]),
            "status": lookup(REFUND_STATUSES, 1 - L["refund_ok"][sel]),
            "refund_ts": timestamps(L["refund"][sel]),
        },
    )
    return returns, refunds


def _observe(
    ctx: DayContext,
    book: Book,
    cust: Customers,
    signals: Signals,
    first_line: int,
    first_order: int,
) -> None:
    """Show the churn hazard today's new lines: who ordered, when each is returned, delivered."""
    L, Od = book.lines, book.orders
    new_l = np.arange(first_line, len(L["order"]))
    if len(new_l) == 0:
        signals.observe(ctx, cust, *(np.zeros(0, np.int64),) * 3)
        return
    # today's orders are numbered consecutively from the first one placed today
    at = first_order + L["order"][new_l] - Od["num"][first_order]
    signals.observe(ctx, cust, Od["customer"][at], _day(L["ret"][new_l]), _day(L["deliver"][new_l]))


def _prune(ctx: DayContext, book: Book) -> None:
    """Drop lines and orders whose every event has been emitted."""
    L, Od = book.lines, book.orders
    last = np.maximum.reduce(
        [_day(L["cancel"]), L["ship_emit"], _day(L["deliver"]), _day(L["ret"]), _day(L["refund"])]
    )
    book.lines = _take(L, np.flatnonzero(last > ctx.epoch_day))
    last_o = np.maximum.reduce([_day(Od["ship"]), _day(Od["deliver"]), _day(Od["cancel"])])
    book.orders = _take(Od, np.flatnonzero(last_o > ctx.epoch_day))

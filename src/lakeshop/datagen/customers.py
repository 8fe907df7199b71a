"""Customers: their state carried across days (moves, tier changes, out-of-order versions)
and their daily rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .context import DAY, DayContext, choose
from .formats import (
    GENDERS,
    LOYALTY_TIERS,
    BoolArray,
    FloatArray,
    IntArray,
    dates,
    ids,
    integers_text,
    lookup,
    make_table,
    timestamps,
)
from .vocabulary import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, LOCATIONS, POSTAL_SUFFIXES

_CUSTOMER_ATTRS = (
    "first",
    "last",
    "name_style",
    "email_style",
    "domain",
    "phone",
    "phone_style",
    "gender",
    "birth",
    "loc",
    "postal",
    "postal_style",
    "tier",
    "created",
    "updated",
)


@dataclass
class Customers:
    """Customer state: current attributes, the previous version and the order affinity."""

    attrs: dict[str, IntArray] = field(default_factory=dict)
    prev: dict[str, IntArray] = field(default_factory=dict)
    prev_ok: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    emitted: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    affinity: FloatArray = field(default_factory=lambda: np.zeros(0))
    orderable: int = 0  # customers created before the current day

    @property
    def count(self) -> int:
        """Number of customers created so far."""
        return len(self.emitted)


def _new_customers(rng: np.random.Generator, n: int, created: IntArray) -> dict[str, IntArray]:
    return {
        "first": rng.integers(0, len(FIRST_NAMES), n),
        "last": rng.integers(0, len(LAST_NAMES), n),
        "name_style": choose(rng, n, (0.86, 0.08, 0.06)),
        "email_style": choose(rng, n, (0.86, 0.07, 0.07)),
        "domain": rng.integers(0, len(EMAIL_DOMAINS), n),
        "phone": rng.integers(2_000_000_000, 9_999_999_999, n),
        "phone_style": rng.integers(0, 4, n),
        "gender": choose(rng, n, (0.48, 0.48, 0.02, 0.02)),
        "birth": rng.integers(-9000, 13500, n),
        "loc": choose(rng, n, tuple(3.0 if loc[2] == "US" else 1.0 for loc in LOCATIONS)),
        "postal": rng.integers(0, 200, n),
        "postal_style": choose(rng, n, (0.86, 0.07, 0.07)),
        "tier": choose(rng, n, (0.55, 0.28, 0.12, 0.05)),
        "created": created,
        "updated": created.copy(),
    }


def _styled(arr: pa.Array, style: IntArray) -> pa.Array:
    lower = pa.array(style == 1)
    upper = pa.array(style == 2)
    return pc.if_else(lower, pc.utf8_lower(arr), pc.if_else(upper, pc.utf8_upper(arr), arr))


def _phone(num: IntArray, style: IntArray) -> pa.Array:
    area = pc.utf8_lpad(pa.array(num // 10_000_000).cast(pa.string()), width=3, padding="0")
    mid = pc.utf8_lpad(pa.array(num // 10_000 % 1000).cast(pa.string()), width=3, padding="0")
    end = pc.utf8_lpad(pa.array(num % 10_000).cast(pa.string()), width=4, padding="0")
    forms = [
        pc.binary_join_element_wise("+1 ", area, " ", mid, " ", end, ""),
        pc.binary_join_element_wise("(", area, ") ", mid, "-", end, ""),
        pc.binary_join_element_wise(area, mid, end, "-"),
        pc.binary_join_element_wise(area, mid, end, ""),
    ]
    out = forms[3]
    for k in (2, 1, 0):
        out = pc.if_else(pa.array(style == k), forms[k], out)
    return out


def render_customers(idx: IntArray, a: dict[str, IntArray]) -> pa.Table:
    """Render customer rows (``a`` holds attribute arrays aligned with ``idx``)."""
    first, last = lookup(FIRST_NAMES, a["first"]), lookup(LAST_NAMES, a["last"])
    ascii_first = pc.utf8_lower(pc.replace_substring_regex(first, "[^A-Za-z]", ""))
    ascii_last = pc.utf8_lower(pc.replace_substring_regex(last, "[^A-Za-z]", ""))
    email = pc.binary_join_element_wise(
        ascii_first,
        ".",
        ascii_last,
        integers_text(idx % 1000),
        "@",
        lookup(EMAIL_DOMAINS, a["domain"]),
        "",
    )
    es = a["email_style"]
    email = pc.if_else(pa.array(es == 1), pc.utf8_upper(email), email)
    email = pc.if_else(pa.array(es == 2), pc.binary_join_element_wise(" ", email, " ", ""), email)
    loc = a["loc"]
    prefix = lookup([x[3] for x in LOCATIONS], loc)
    style = np.array([x[4] for x in LOCATIONS])[loc]
    postal = pc.binary_join_element_wise(
        prefix, lookup(POSTAL_SUFFIXES, style * 200 + a["postal"]), ""
    )
    ps = a["postal_style"]
    postal = pc.if_else(pa.array(ps == 1), pc.utf8_lower(postal), postal)
    postal = pc.if_else(pa.array(ps == 2), pc.binary_join_element_wise(" ", postal, ""), postal)
    return make_table(
        "customers",
        {
            "customer_id": ids("C", idx + 1),
            "first_name": _styled(first, a["name_style"]),
            "last_name": _styled(last, a["name_style"]),
            "email": email,
            "phone": _phone(a["phone"], a["phone_style"]),
            "gender": lookup(GENDERS, a["gender"]),
            "birth_date": dates(a["birth"]),
            "city": lookup([x[0] for x in LOCATIONS], loc),
            "state": lookup([x[1] for x in LOCATIONS], loc),
            "postal_code": postal,
            "country": lookup([x[2] for x in LOCATIONS], loc),
            "loyalty_tier": lookup(LOYALTY_TIERS, a["tier"]),
            "created_at": timestamps(a["created"]),
            "updated_at": timestamps(a["updated"]),
        },
    )


def _take(a: dict[str, IntArray], idx: IntArray) -> dict[str, IntArray]:
    return {k: v[idx] for k, v in a.items()}


def customers_day(ctx: DayContext, cust: Customers) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Advance customers by one day.

    Returns (rows for today's file, intermediate versions to send tomorrow, stale versions
    available as ``stale_version`` defects today).
    """
    rng = ctx.rng("customers")
    base = max(20, round(20_000 * ctx.scale))
    if ctx.index > 0:
        # stale candidates: previous versions superseded by a version sent before today
        stale_idx = np.flatnonzero(cust.prev_ok & (cust.emitted < ctx.index))
        stale_idx = stale_idx[rng.permutation(len(stale_idx))[:500]]
        stale = render_customers(stale_idx, _take(cust.prev, stale_idx))
    else:
        created = ctx.start - rng.integers(DAY, 3 * 365 * DAY, base)
        created.sort()
        cust.attrs = _new_customers(rng, base, created)
        cust.prev = {k: v.copy() for k, v in cust.attrs.items()}
        cust.prev_ok = np.zeros(base, bool)
        cust.emitted = np.zeros(base, np.int64)
        cust.affinity = rng.pareto(1.3, base) + 0.05
        cust.orderable = base
        empty = render_customers(np.zeros(0, np.int64), _take(cust.attrs, np.zeros(0, np.int64)))
        return render_customers(np.arange(base), cust.attrs), empty, empty
    cust.orderable = cust.count
    n_new = max(1, int(rng.poisson(base * 0.004)))
    n_upd = min(cust.count, max(1, int(rng.poisson(base * 0.004))))
    upd = np.sort(rng.choice(cust.count, n_upd, replace=False))
    # snapshot the old version, then change address and/or tier
    for k in _CUSTOMER_ATTRS:
        cust.prev[k][upd] = cust.attrs[k][upd]
    cust.prev_ok[upd] = True
    kind = choose(rng, n_upd, (0.55, 0.43, 0.02))  # address, tier, both (out of order)
    t_final = ctx.start + rng.integers(3600, DAY - 60, n_upd)
    move = kind != 1
    cust.attrs["loc"][upd[move]] = rng.integers(0, len(LOCATIONS), int(move.sum()))
    cust.attrs["postal"][upd[move]] = rng.integers(0, 200, int(move.sum()))
    mid = _take(cust.attrs, upd[kind == 2])  # intermediate: moved, old tier
    mid["updated"] = t_final[kind == 2] - rng.integers(60, 3000, int((kind == 2).sum()))
    retier = kind != 0
    tier = cust.attrs["tier"][upd[retier]]
    step = np.where((rng.random(len(tier)) < 0.8) | (tier == 3), 1, -1)
    step = np.where(tier == 0, 1, step)
    cust.attrs["tier"][upd[retier]] = np.clip(tier + step, 0, 3)
    cust.attrs["updated"][upd] = t_final
    cust.emitted[upd] = ctx.index
    # the stale snapshot of an out-of-order pair is the intermediate (sent tomorrow)
    both = upd[kind == 2]
    for k in _CUSTOMER_ATTRS:
        cust.prev[k][both] = mid[k]
    cust.emitted[both] = ctx.index + 1
    # new customers, orderable from tomorrow
    created = np.sort(ctx.start + rng.integers(0, DAY, n_new))
    new = _new_customers(rng, n_new, created)
    first_new = cust.count
    for k in _CUSTOMER_ATTRS:
        cust.attrs[k] = np.concatenate([cust.attrs[k], new[k]])
        cust.prev[k] = np.concatenate([cust.prev[k], new[k]])
    cust.prev_ok = np.concatenate([cust.prev_ok, np.zeros(n_new, bool)])
    cust.emitted = np.concatenate([cust.emitted, np.full(n_new, ctx.index)])
    cust.affinity = np.concatenate([cust.affinity, rng.pareto(1.3, n_new) + 0.05])
    rows_idx = np.concatenate([upd, np.arange(first_new, cust.count)])
    today = render_customers(rows_idx, _take(cust.attrs, rows_idx))
    return today, render_customers(both, mid), stale

"""Stores, customers and products: their state carried across days and their daily rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .context import DAY, DayContext
from .formats import (
    CHANNELS,
    CURRENCIES,
    GENDERS,
    LOYALTY_TIERS,
    BoolArray,
    FloatArray,
    IntArray,
    constant,
    dates,
    ids,
    lookup,
    make_table,
    money,
    timestamps,
)

COUNTRY_CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "FR": "EUR"}
TAX_RATE = {"US": 0.07, "CA": 0.13, "GB": 0.20, "DE": 0.19, "FR": 0.20}
# city, state, country, postal prefix, postal style (0 digits, 1 Canadian, 2 British)
LOCATIONS: tuple[tuple[str, str, str, str, int], ...] = (
    ("New York", "NY", "US", "100", 0),
    ("Los Angeles", "CA", "US", "900", 0),
    ("Chicago", "IL", "US", "606", 0),
    ("Houston", "TX", "US", "770", 0),
    ("Phoenix", "AZ", "US", "850", 0),
    ("Seattle", "WA", "US", "981", 0),
    ("Boston", "MA", "US", "021", 0),
    ("Miami", "FL", "US", "331", 0),
    ("Denver", "CO", "US", "802", 0),
    ("Atlanta", "GA", "US", "303", 0),
    ("Toronto", "ON", "CA", "M5V ", 1),
    ("Vancouver", "BC", "CA", "V6B ", 1),
    ("Montréal", "QC", "CA", "H2X ", 1),
    ("London", "England", "GB", "SW1A ", 2),
    ("Manchester", "England", "GB", "M1 ", 2),
    ("Edinburgh", "Scotland", "GB", "EH1 ", 2),
    ("Berlin", "BE", "DE", "101", 0),
    ("München", "BY", "DE", "803", 0),
    ("Hamburg", "HH", "DE", "201", 0),
    ("Paris", "IDF", "FR", "750", 0),
    ("Lyon", "ARA", "FR", "690", 0),
    ("Marseille", "PAC", "FR", "130", 0),
)
_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
_POSTAL_SUFFIX = (
    [f"{i % 100:02d}" for i in range(200)]
    + [f"{i % 10}{_LETTERS[(i // 10) % 20]}{(i * 7) % 10}" for i in range(200)]
    + [f"{i % 10}{_LETTERS[(i // 10) % 20]}{_LETTERS[(i * 3) % 20]}" for i in range(200)]
)
FIRST_NAMES = (
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Olivia",
    "Lucas",
    "Emma",
    "Noah",
    "Chloé",
    "Léa",
    "Jürgen",
    "Anna",
    "Lukas",
    "Sophie",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "Liam",
    "Mia",
    "Ethan",
    "Zoe",
    "Aiden",
    "Ava",
    "Mateo",
    "Nora",
    "Hiroshi",
    "Priya",
    "Wei",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "O'Brien",
    "Smith-Jones",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Tremblay",
    "Gagnon",
    "Roy",
    "Evans",
    "Hughes",
    "Patel",
    "Nguyen",
    "Kim",
    "Chen",
    "Singh",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
)
EMAIL_DOMAINS = ("example.com", "mail.example.org", "shopper.example.net", "inbox.example.co.uk")

CATEGORIES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("Apparel", ("T-Shirts", "Jeans", "Jackets", "Dresses"), 3.4),
    ("Footwear", ("Sneakers", "Boots", "Sandals"), 4.1),
    ("Electronics", ("Headphones", "Monitors", "Chargers", "Speakers"), 4.6),
    ("Home", ("Lamps", "Cookware", "Bedding", "Storage"), 3.6),
    ("Beauty", ("Skincare", "Fragrance", "Haircare"), 3.0),
    ("Sports", ("Yoga", "Cycling", "Running", "Camping"), 3.8),
    ("Toys", ("Puzzles", "Board Games", "Building Sets"), 3.2),
    ("Grocery", ("Coffee", "Tea", "Snacks"), 2.2),
)
BRANDS = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Lakeside",
    "O'Neil & Sons",
    "Tailspin",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Wingtip",
    "Alpine",
    "Bluebird",
)
ADJECTIVES = (
    "Classic",
    "Premium",
    "Everyday",
    "Slim, Light",
    'Pro 15"',
    "Eco",
    "Deluxe",
    "Compact",
    "Ultra",
    "Essential",
    "Vintage",
    "Sport",
)


def _choose(rng: np.random.Generator, n: int, probs: tuple[float, ...]) -> IntArray:
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs)).astype(np.int64)


# --------------------------------------------------------------------------- stores
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
    channel[4:] = _choose(rng, n - 4, (0.6, 0.25, 0.15))
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


# --------------------------------------------------------------------------- customers
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
        "name_style": _choose(rng, n, (0.86, 0.08, 0.06)),
        "email_style": _choose(rng, n, (0.86, 0.07, 0.07)),
        "domain": rng.integers(0, len(EMAIL_DOMAINS), n),
        "phone": rng.integers(2_000_000_000, 9_999_999_999, n),
        "phone_style": rng.integers(0, 4, n),
        "gender": _choose(rng, n, (0.48, 0.48, 0.02, 0.02)),
        "birth": rng.integers(-9000, 13500, n),
        "loc": _choose(rng, n, tuple(3.0 if loc[2] == "US" else 1.0 for loc in LOCATIONS)),
        "postal": rng.integers(0, 200, n),
        "postal_style": _choose(rng, n, (0.86, 0.07, 0.07)),
        "tier": _choose(rng, n, (0.55, 0.28, 0.12, 0.05)),
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
        prefix, lookup(_POSTAL_SUFFIX, style * 200 + a["postal"]), ""
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


def integers_text(nums: IntArray) -> pa.Array:
    """Integers as text (local helper for e-mail suffixes)."""
    return pa.array(np.asarray(nums, dtype=np.int64)).cast(pa.string())


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
    kind = _choose(rng, n_upd, (0.55, 0.43, 0.02))  # address, tier, both (out of order)
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


# --------------------------------------------------------------------------- products
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


__all__ = [
    "Customers",
    "Products",
    "Stores",
    "customers_day",
    "make_products",
    "make_stores",
    "products_day",
]

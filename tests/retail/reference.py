"""An independent reference implementation of the gold layer, for tests.

It reads the generated landing files directly (never bronze, silver or the pipeline's SQL) and
follows ``docs/gold.md`` in plain Python + pandas: money is ``decimal.Decimal``, converted to the
base currency per row and then summed; ratios are rounded half away from zero to 4 decimals;
NTILE and RANK are computed as SQL computes them.

    compute(landing, ledger=None) -> {table name: DataFrame}

returns every mart of ``docs/gold.md`` and the facts (``fact_sales``, ``fact_orders``,
``fact_payments``, ``fact_returns``, ``fact_inventory``), with the column
names of ``docs/gold.md`` and Python values (``Decimal``, ``int``, ``str``, ``bool``,
``datetime.date``, ``datetime.datetime`` or ``None``; never a float or NaN).

When ``ledger`` (the generator's ``_ledger.json``) is given, every record at a ledger
(file, row) position is dropped — except unknown codes of open enumerations (statuses,
payment types, channels), which silver keeps and counts — files listed as ``unreadable_file``
are skipped, and columns outside the contract (schema drift) are ignored; what remains is what
silver keeps. Two versions of a key with the same sequence (``updated_at``, an event's time)
are told apart as silver does: the greater md5 of the version's values as text wins.

The generated retailer's project has a USD base currency and no credit notes (its negative
quantities are defects); ``compute`` follows docs/gold.md for any base currency and credit-note
rule given to it.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from lakeshop.retail.contract import SOURCES

BASE = "USD"
#: open enumerations: an unknown code is kept (a warn check), so its ledger row stays
OPEN_FIELDS = {
    "stores": ("channel",),
    "orders": ("channel", "status"),
    "order_items": ("item_status",),
    "payments": ("payment_type", "status"),
    "refunds": ("status",),
}
#: silver's columns (those a version's md5 is taken over, in order), for the sources whose
#: versions can tie on their sequence
SILVER_COLUMNS = {
    "stores": (
        "store_id", "name", "channel", "city", "country", "currency", "opened_on", "updated_at",
    ),
    "orders": (
        "order_id", "customer_id", "store_id", "channel", "order_ts", "currency", "status",
        "updated_at", "freight_amount",
    ),
    "order_items": (
        "order_id", "line_no", "product_id", "quantity", "unit_price", "discount_amount",
        "tax_amount", "freight_amount", "seller_id", "item_status", "is_credit_note",
        "shipped_at", "delivered_at", "updated_at",
    ),
    "payments": (
        "payment_id", "order_id", "payment_type", "card_brand", "amount", "currency", "status",
        "transaction_ts", "installments",
    ),
    "refunds": ("refund_id", "payment_id", "amount", "reason", "status", "refund_ts"),
}  # fmt: skip
SEQUENCE = {"payments": "transaction_ts", "refunds": "refund_ts"}

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
TENTH = Decimal("0.1")
ZERO = Decimal("0")

TIMESTAMPS = {
    "customers": ("created_at", "updated_at"),
    "products": ("updated_at",),
    "stores": ("updated_at",),
    "orders": ("order_ts", "updated_at"),
    "sellers": ("updated_at",),
    "order_items": ("shipped_at", "delivered_at", "updated_at"),
    "payments": ("transaction_ts",),
    "refunds": ("refund_ts",),
    "returns": ("returned_at",),
    "clickstream": ("event_ts",),
}
DATES = {
    "customers": ("birth_date",),
    "stores": ("opened_on",),
    "inventory": ("snapshot_date",),
    "fx_rates": ("rate_date",),
}
INTEGERS = {
    "order_items": ("line_no", "quantity"),
    "payments": ("installments",),
    "returns": ("line_no", "return_qty"),
    "inventory": ("on_hand_qty", "reorder_point"),
}
DECIMALS = {
    "products": ("list_price", "unit_cost"),
    "orders": ("freight_amount",),
    "order_items": ("unit_price", "discount_amount", "tax_amount", "freight_amount"),
    "payments": ("amount",),
    "refunds": ("amount",),
    "returns": ("return_amount",),
    "fx_rates": ("rate_to_base",),
}
BOOLEANS = {"products": ("is_active",)}
#: sources whose silver table keeps the latest version per key (by updated_at when they have it)
VERSIONED = ("customers", "products", "stores", "orders", "order_items", "inventory", "fx_rates")

#: the key columns of every table compute() returns
KEYS: dict[str, tuple[str, ...]] = {
    "fact_sales": ("order_id", "line_no"),
    "fact_orders": ("order_id",),
    "fact_payments": ("payment_id",),
    "fact_returns": ("return_id",),
    "fact_inventory": ("snapshot_date", "store_id", "product_id"),
    "agg_daily_sales": ("sales_date", "channel"),
    "daily_revenue": ("sales_date", "store_id"),
    "product_sales_monthly": ("month", "product_id"),
    "store_performance_monthly": ("month", "store_id"),
    "best_sellers_monthly": ("month", "product_id"),
    "customer_features": ("customer_id",),
    "customer_value": ("customer_id",),
    "product_returns": ("product_id",),
    "payment_refunds": ("payment_type",),
    "web_funnel_daily": ("event_date",),
    "inventory_health": ("store_id", "product_id"),
}


# --------------------------------------------------------------------------- rounding helpers


def money(x: Decimal | None) -> Decimal | None:
    """ROUND(x, 2), half away from zero."""
    return None if x is None else x.quantize(CENT, ROUND_HALF_UP)


def ratio(num: Any, den: Any, places: Decimal = RATIO) -> Decimal | None:
    """ROUND(num / den, places) computed exactly; NULL when the denominator is 0 or NULL."""
    if num is None or den is None or Decimal(den) == 0:
        return None
    return (Decimal(num) / Decimal(den)).quantize(places, ROUND_HALF_UP)


def dsum(values: Iterable[Decimal | None]) -> Decimal | None:
    """SUM() of decimals: NULLs ignored, NULL when every value is NULL (or none)."""
    present = [v for v in values if v is not None]
    return sum(present, ZERO) if present else None


def month_start(d: date) -> date:
    return d.replace(day=1)


def ntile(n_buckets: int, ordered_ids: list[Any]) -> dict[Any, int]:
    """NTILE(n) over rows already in window order: the first count % n buckets get one extra."""
    count = len(ordered_ids)
    size, extra = divmod(count, n_buckets)
    out: dict[Any, int] = {}
    i = 0
    for bucket in range(1, n_buckets + 1):
        width = size + (1 if bucket <= extra else 0)
        for ident in ordered_ids[i : i + width]:
            out[ident] = bucket
        i += width
    return out


def known_sum(values: Iterable[Decimal | None]) -> Decimal:
    """Σ of amounts that are all known (else None: unknown, never understated); 0 when none."""
    total = ZERO
    for v in values:
        if v is None:
            return None  # type: ignore[return-value]
        total += v
    return total


def avg_money(total: Decimal | None, count: int) -> Decimal | None:
    """ROUND(total / count, 2); NULL when the total is NULL or the count 0."""
    return None if total is None or not count else money(total / count)


def rank_desc(values: pd.Series) -> pd.Series:
    """RANK() OVER (ORDER BY value DESC), NULLs last (DuckDB's default): 1 + number of
    values ordered before."""
    vals = list(values)
    ordered = sorted((v for v in vals if v is not None), reverse=True)
    ordered += [None] * (len(vals) - len(ordered))
    first: dict[Any, int] = {}
    for pos, v in enumerate(ordered, start=1):
        first.setdefault(v, pos)
    return pd.Series([first[v] for v in vals], index=values.index, dtype=object)


# --------------------------------------------------------------------------- reading landing


def _kept(defect: dict) -> bool:
    """An unknown code of an open enumeration: silver keeps the row."""
    return defect["kind"] == "bad_enum" and defect["field"] in OPEN_FIELDS.get(defect["source"], ())


def _ledger_positions(ledger: dict | None) -> tuple[set[tuple[str, int]], set[str]]:
    if not ledger:
        return set(), set()
    rows = {
        (d["file"], d["row"])
        for d in ledger["defects"]
        if d.get("row") is not None and not _kept(d)
    }
    unreadable = {d["file"] for d in ledger["defects"] if d["kind"] == "unreadable_file"}
    return rows, unreadable


def _records(path: Path, fmt: str) -> list[tuple[int, Any]]:
    """(row number, record) of a file: CSV data records numbered from 1 after the header,
    as (header, line), JSONL by physical line, as the line; one record per physical line."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[tuple[int, Any]] = []
    if fmt == "jsonl":
        for n, line in enumerate(lines, start=1):
            out.append((n, line))
        return out
    if not lines:
        return out
    header = next(csv.reader([lines[0]]))
    for n, line in enumerate(lines[1:], start=1):
        out.append((n, (header, line)))
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def read_source(landing: Path, source: str, ledger: dict | None = None) -> list[dict[str, Any]]:
    """Every record of a source as text (trimmed, empty = None), in delivery order, with the
    ledger's rows and unreadable files left out and extra columns ignored."""
    contract = SOURCES[source]
    drop, unreadable = _ledger_positions(ledger)
    ext = "jsonl" if contract.format == "jsonl" else "csv"
    rows: list[dict[str, Any]] = []
    for path in sorted((landing / source).glob(f"*.{ext}")):
        rel = path.relative_to(landing).as_posix()
        if rel in unreadable:
            continue
        kept = [(n, rec) for n, rec in _records(path, contract.format) if (rel, n) not in drop]
        if contract.format == "jsonl":
            for _, line in kept:
                obj = json.loads(line, parse_float=str, parse_int=str)
                rows.append({f: _text(obj.get(f)) for f in contract.fields})
        else:
            if not kept:
                continue
            header = kept[0][1][0]
            for values in csv.reader([rec[1] for _, rec in kept]):
                if len(values) != len(header):
                    raise ValueError(f"{rel}: {len(values)} fields for {len(header)} columns")
                rec = dict(zip(header, values, strict=True))
                rows.append({f: _text(rec.get(f)) for f in contract.fields})
    return rows


def _typed(source: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    conv: dict[str, Callable[[str], Any]] = {}
    for f in TIMESTAMPS.get(source, ()):
        conv[f] = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S")
    for f in DATES.get(source, ()):
        conv[f] = date.fromisoformat
    for f in INTEGERS.get(source, ()):
        conv[f] = int
    for f in DECIMALS.get(source, ()):
        conv[f] = Decimal
    for f in BOOLEANS.get(source, ()):
        conv[f] = lambda s: {"true": True, "false": False}[s.lower()]
    typed = []
    for r in rows:
        t = dict(r)
        for f, fn in conv.items():
            if t[f] is not None:
                t[f] = fn(t[f])
        typed.append(t)
    return pd.DataFrame(typed, columns=list(SOURCES[source].fields), dtype=object)


def _as_varchar(v: Any) -> str:
    """A silver value as DuckDB's CAST(v AS VARCHAR) writes it (NULL as silver's ``\\N``)."""
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") + (f".{v.microsecond:06d}" if v.microsecond else "")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _version_hash(source: str, row: dict[str, Any]) -> str:
    """md5 of a silver row's values as text joined by ``|`` (silver's tie-break of versions)."""
    text = "|".join(_as_varchar(row.get(c)) for c in SILVER_COLUMNS[source])
    return hashlib.md5(text.encode()).hexdigest()


def _silver_defaults(source: str, df: pd.DataFrame) -> pd.DataFrame:
    """Silver's defaults of absent optional values (docs/gold.md)."""
    if source == "order_items":
        for f in ("discount_amount", "tax_amount", "freight_amount"):
            df[f] = [ZERO if v is None else v for v in df[f]]
        df["is_credit_note"] = [
            credit_note(q, o) for q, o in zip(df["quantity"], df["order_id"], strict=True)
        ]
    return df


#: what makes a line a credit note (the generated retailer's project: nothing)
CREDIT_NOTES: dict[str, Any] = {"negative_quantity": False, "order_id_pattern": None}


def credit_note(quantity: int | None, order_id: str | None) -> bool:
    import re

    if CREDIT_NOTES["negative_quantity"] and quantity is not None and quantity < 0:
        return True
    pattern = CREDIT_NOTES["order_id_pattern"]
    return bool(pattern and order_id is not None and re.search(pattern, order_id))


def load_silver(landing: Path, ledger: dict | None = None) -> dict[str, pd.DataFrame]:
    """Silver as docs/gold.md reads it: typed, exact duplicates removed, the latest version per
    key for versioned sources (``<source>_history`` keeps every distinct version of customers
    and products), each event once for the others."""
    out: dict[str, pd.DataFrame] = {}
    for source, contract in SOURCES.items():
        df = _typed(source, read_source(Path(landing), source, ledger))
        df = df.drop_duplicates(keep="first").reset_index(drop=True)
        df = _silver_defaults(source, df)
        keys = list(contract.keys)
        if source in ("customers", "products"):
            out[f"{source}_history"] = df.copy()
        sequence = "updated_at" if source in VERSIONED else SEQUENCE.get(source)
        if source in SILVER_COLUMNS and sequence:
            # the latest version wins; among versions of one sequence value, the greater md5
            df = df.assign(
                _hash=[_version_hash(source, r) for r in df.to_dict("records")],
                _seq=[(v is not None, v or datetime.min) for v in df[sequence]],
            )
            df = df.sort_values(["_seq", "_hash"], kind="stable")
            df = df.drop(columns=["_seq", "_hash"]).drop_duplicates(subset=keys, keep="last")
        elif source in VERSIONED:
            if "updated_at" in df.columns:
                # latest updated_at wins; among equal updated_at the last delivered
                df = df.assign(_pos=range(len(df)))
                df = df.sort_values(["updated_at", "_pos"], kind="stable")
                df = df.drop(columns="_pos")
            df = df.drop_duplicates(subset=keys, keep="last")
        else:
            df = df.drop_duplicates(subset=keys, keep="first")
        out[source] = df.reset_index(drop=True)
    return out


def version_ties(landing: Path, ledger: dict | None = None) -> dict[str, int]:
    """Keys whose latest updated_at is shared by two distinct rows (latest version ambiguous)."""
    out = {}
    for source in VERSIONED:
        if "updated_at" not in SOURCES[source].fields:
            continue
        df = _typed(source, read_source(Path(landing), source, ledger)).drop_duplicates()
        keys = list(SOURCES[source].keys)
        latest = df.groupby(keys, dropna=False)["updated_at"].transform("max")
        at_latest = df[df["updated_at"] == latest]
        out[source] = int(at_latest.duplicated(subset=keys).sum())
    return out


# --------------------------------------------------------------------------- fx


class Rates:
    """rate_to_base of a currency on a date, or the latest earlier rate_date; the base
    currency 1 always."""

    def __init__(self, fx: pd.DataFrame) -> None:
        by_cur: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for d, c, r in zip(fx["rate_date"], fx["currency"], fx["rate_to_base"], strict=True):
            by_cur[c].append((d, r))
        self._dates = {c: [d for d, _ in sorted(v)] for c, v in by_cur.items()}
        self._rates = {c: [r for _, r in sorted(v)] for c, v in by_cur.items()}

    def __call__(self, currency: str | None, on: date | None) -> Decimal | None:
        if currency == BASE:
            return Decimal("1")
        if currency is None or on is None:
            return None
        dates = self._dates.get(currency)
        if dates:
            i = bisect.bisect_right(dates, on)
            if i:
                return self._rates[currency][i - 1]
        return None


# --------------------------------------------------------------------------- SCD2

FIRST_VALID_FROM = datetime(1900, 1, 1)
UNKNOWN_SK = "-1"


class Versions:
    """SCD2 versions of an entity from its history rows: ordered by updated_at, a row whose
    attributes (all but updated_at) equal the previous row's is no new version; the first
    version is valid from 1900-01-01; sk = md5(key || '|' || valid_from as VARCHAR).

    Attributes are compared as typed text, not cleaned: on generated data the two agree (the
    messy-but-valid renderings of a customer do not change between its versions)."""

    def __init__(self, history: pd.DataFrame, key: str) -> None:
        attrs = [c for c in history.columns if c != "updated_at"]
        self._starts: dict[str, list[datetime]] = defaultdict(list)
        self._sks: dict[str, list[str]] = defaultdict(list)
        prev: dict[str, tuple] = {}
        for r in history.sort_values([key, "updated_at"], kind="stable").to_dict("records"):
            k = r[key]
            values = tuple(r[a] for a in attrs)
            if k in prev and prev[k] == values:
                continue
            prev[k] = values
            start = FIRST_VALID_FROM if k not in self._sks else r["updated_at"]
            stamp = start.strftime("%Y-%m-%d %H:%M:%S")
            self._starts[k].append(start)
            self._sks[k].append(hashlib.md5(f"{k}|{stamp}".encode()).hexdigest())

    def sk(self, key: str | None, at: datetime | None) -> str:
        """The sk of the version valid at ``at`` (valid_from <= at < valid_to), or '-1'."""
        starts = self._starts.get(key) if key is not None else None
        if key is None or not starts or at is None:
            return UNKNOWN_SK
        i = bisect.bisect_right(starts, at)
        return self._sks[key][i - 1] if i else UNKNOWN_SK


# --------------------------------------------------------------------------- gold


def _py(v: Any) -> Any:
    """A plain Python value: pandas/numpy scalars, NaT and NaN turned into their Python forms."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float):
        if v != v:
            return None
        raise TypeError(f"float in the reference: {v!r}")
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, Decimal | str):  # numpy scalar
        return v.item()
    return v


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for c in df.columns:
        out[c] = pd.Series([_py(v) for v in df[c]], dtype=object)
    return out


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, dtype=object)


def compute(landing: Path, ledger: dict | None = None) -> dict[str, pd.DataFrame]:
    s = load_silver(Path(landing), ledger)
    rates = Rates(s["fx_rates"])
    orders = s["orders"].copy()
    orders["order_date"] = [ts.date() if ts is not None else None for ts in orders["order_ts"]]
    as_of: date = max(d for d in orders["order_date"] if d is not None)
    stores = s["stores"].set_index("store_id")
    category = dict(zip(s["products"]["product_id"], s["products"]["category"], strict=True))
    out: dict[str, pd.DataFrame] = {}

    # ---- fact_sales
    # an order without a currency is in its store's, else in the base currency
    store_currency = dict(zip(s["stores"]["store_id"], s["stores"]["currency"], strict=True))
    orders["currency"] = [
        c if c is not None else store_currency.get(st) or BASE
        for c, st in zip(orders["currency"], orders["store_id"], strict=True)
    ]
    items = s["order_items"].merge(
        orders[
            ["order_id", "order_date", "order_ts", "customer_id", "store_id", "channel", "currency"]
        ],
        on="order_id",
        how="inner",
    )
    fs = items.copy()
    cust_versions = Versions(s["customers_history"], "customer_id")
    prod_versions = Versions(s["products_history"], "product_id")
    known_stores = set(s["stores"]["store_id"])
    fs["customer_sk"] = [
        cust_versions.sk(c, t) for c, t in zip(fs["customer_id"], fs["order_ts"], strict=True)
    ]
    fs["product_sk"] = [
        prod_versions.sk(p, t) for p, t in zip(fs["product_id"], fs["order_ts"], strict=True)
    ]
    fs["store_sk"] = [st if st in known_stores else UNKNOWN_SK for st in fs["store_id"]]
    fs["is_revenue"] = [
        not cn and st != "cancelled"
        for cn, st in zip(fs["is_credit_note"], fs["item_status"], strict=True)
    ]
    fs["sales_total"] = [
        None if None in (q, p, d, t) else q * p - d + t
        for q, p, d, t in zip(
            fs["quantity"], fs["unit_price"], fs["discount_amount"], fs["tax_amount"], strict=True
        )
    ]
    fs["fx_rate"] = [rates(c, d) for c, d in zip(fs["currency"], fs["order_date"], strict=True)]
    fs["sales_total_base"] = [
        None if t is None or r is None else money(t * r)
        for t, r in zip(fs["sales_total"], fs["fx_rate"], strict=True)
    ]
    fs["freight_base"] = [
        None if r is None else money(f * r)
        for f, r in zip(fs["freight_amount"], fs["fx_rate"], strict=True)
    ]
    fs["fx_missing"] = [r is None for r in fs["fx_rate"]]
    known_sellers = set(s["sellers"]["seller_id"])
    fs["seller_sk"] = [x if x in known_sellers else UNKNOWN_SK for x in fs["seller_id"]]
    fs = fs[
        [
            "order_id",
            "line_no",
            "order_date",
            "order_ts",
            "customer_id",
            "customer_sk",
            "product_id",
            "product_sk",
            "store_id",
            "store_sk",
            "channel",
            "currency",
            "item_status",
            "is_revenue",
            "quantity",
            "unit_price",
            "discount_amount",
            "tax_amount",
            "sales_total",
            "fx_rate",
            "sales_total_base",
            "shipped_at",
            "delivered_at",
            "updated_at",
            "is_credit_note",
            "freight_amount",
            "freight_base",
            "fx_missing",
            "seller_id",
            "seller_sk",
        ]
    ].reset_index(drop=True)
    out["fact_sales"] = fs
    rev = fs[fs["is_revenue"].astype(bool)].copy()
    rev["month"] = [month_start(d) for d in rev["order_date"]]

    # ---- fact_orders
    lines_of: dict[str, list[dict]] = defaultdict(list)
    for rec in fs.to_dict("records"):
        lines_of[rec["order_id"]].append(rec)
    fo_rows = []
    for o in orders.to_dict("records"):
        lines = lines_of.get(o["order_id"], [])
        if not lines:
            continue  # an order is the roll-up of its lines
        revenue = [ln for ln in lines if ln["is_revenue"]]
        credits = [ln for ln in lines if ln["is_credit_note"]]
        goods = [ln for ln in lines if not ln["is_credit_note"]]
        cancelled = [ln for ln in goods if ln["item_status"] == "cancelled"]
        delivered = [ln for ln in goods if ln["item_status"] == "delivered"]
        if len(credits) == len(lines):
            status = "Credit note"
        elif len(cancelled) == len(goods):
            status = "Cancelled"
        elif delivered and all(ln["item_status"] == "delivered" for ln in revenue):
            status = "Completed"
        else:
            status = "In progress"
        rate = lines[0]["fx_rate"]
        order_freight = (o["freight_amount"] or ZERO) if revenue else ZERO
        freight_total = sum((ln["freight_amount"] for ln in revenue), ZERO) + order_freight
        freight_base: Decimal | None
        if rate is not None:
            freight_base = known_sum(ln["freight_base"] for ln in revenue) + (
                money(order_freight * rate) or ZERO
            )
        else:
            freight_base = ZERO if freight_total == 0 else None
        goods_base = known_sum(ln["sales_total_base"] for ln in revenue)
        delivered_at = None
        delivery_days = None
        if status == "Completed":
            stamps = [ln["delivered_at"] for ln in lines if ln["delivered_at"] is not None]
            delivered_at = max(stamps) if stamps else None
            if delivered_at is not None:
                delivery_days = (delivered_at.date() - o["order_date"]).days
        fo_rows.append(
            {
                "order_id": o["order_id"],
                "order_date": o["order_date"],
                "order_ts": o["order_ts"],
                "customer_id": o["customer_id"],
                "customer_sk": cust_versions.sk(o["customer_id"], o["order_ts"]),
                "store_id": o["store_id"],
                "store_sk": o["store_id"] if o["store_id"] in known_stores else UNKNOWN_SK,
                "channel": o["channel"],
                "currency": o["currency"],
                "line_count": len(lines),
                "revenue_line_count": len(revenue),
                "delivered_line_count": len(delivered),
                "cancelled_line_count": len(cancelled),
                "units": sum(ln["quantity"] for ln in revenue),
                "order_total": sum((ln["sales_total"] for ln in revenue), ZERO) + freight_total,
                "order_total_base": (
                    None
                    if goods_base is None or freight_base is None
                    else goods_base + freight_base
                ),
                "completion_status": status,
                "delivered_at": delivered_at,
                "delivery_days": delivery_days,
                "credit_line_count": len(credits),
                "freight_total": freight_total,
                "freight_total_base": freight_base,
                "fx_missing": rate is None,
            }
        )
    out["fact_orders"] = _frame(fo_rows, list(fo_rows[0]) if fo_rows else [])

    # ---- returns, with their line and order
    rets = s["returns"].copy()
    rets["return_date"] = [ts.date() for ts in rets["returned_at"]]
    rets = rets.merge(
        s["order_items"][["order_id", "line_no", "product_id"]],
        on=["order_id", "line_no"],
        how="left",
    ).merge(
        orders[["order_id", "customer_id", "store_id", "channel", "currency"]],
        on="order_id",
        how="left",
    )
    rets["return_amount_base"] = [
        None if (rate := rates(c, d)) is None or a is None else money(a * rate)
        for a, c, d in zip(
            rets["return_amount"], rets["currency"], rets["return_date"], strict=True
        )
    ]
    rets["month"] = [month_start(d) for d in rets["return_date"]]
    rets["fx_rate"] = [
        rates(c, d) for c, d in zip(rets["currency"], rets["return_date"], strict=True)
    ]
    rets["customer_sk"] = [
        cust_versions.sk(c, t)
        for c, t in zip(rets["customer_id"], rets["returned_at"], strict=True)
    ]
    rets["product_sk"] = [
        prod_versions.sk(p, t) for p, t in zip(rets["product_id"], rets["returned_at"], strict=True)
    ]
    rets["store_sk"] = [st if st in known_stores else UNKNOWN_SK for st in rets["store_id"]]
    rets["is_credit_note"] = False
    rets["fx_missing"] = [r is None for r in rets["fx_rate"]]
    # credit notes are returns of |quantity| for |line total|, dated at their order's time
    credit_rows = [
        {
            "return_id": f"credit:{ln['order_id']}:{ln['line_no']}",
            "order_id": ln["order_id"],
            "line_no": ln["line_no"],
            "return_date": ln["order_date"],
            "returned_at": ln["order_ts"],
            "customer_id": ln["customer_id"],
            "customer_sk": ln["customer_sk"],
            "product_id": ln["product_id"],
            "product_sk": ln["product_sk"],
            "store_id": ln["store_id"],
            "store_sk": ln["store_sk"],
            "channel": ln["channel"],
            "currency": ln["currency"],
            "return_qty": abs(ln["quantity"]),
            "return_amount": abs(ln["sales_total"]),
            "fx_rate": ln["fx_rate"],
            "return_amount_base": None
            if ln["sales_total_base"] is None
            else abs(ln["sales_total_base"]),
            "reason": "credit note",
            "is_credit_note": True,
            "fx_missing": ln["fx_missing"],
            "month": month_start(ln["order_date"]),
        }
        for ln in fs.to_dict("records")
        if ln["is_credit_note"]
    ]
    if credit_rows:
        rets = pd.concat([rets, pd.DataFrame(credit_rows, dtype=object)], ignore_index=True)
    out["fact_returns"] = rets[
        [
            "return_id",
            "order_id",
            "line_no",
            "return_date",
            "returned_at",
            "customer_id",
            "customer_sk",
            "product_id",
            "product_sk",
            "store_id",
            "store_sk",
            "channel",
            "currency",
            "return_qty",
            "return_amount",
            "fx_rate",
            "return_amount_base",
            "reason",
            "is_credit_note",
            "fx_missing",
        ]
    ].reset_index(drop=True)
    fo = out["fact_orders"]
    sold_orders = fo[[n > 0 for n in fo["revenue_line_count"]]].copy()
    sold_orders["month"] = [month_start(d) for d in sold_orders["order_date"]]

    # ---- agg_daily_sales
    agg: dict[tuple, dict[str, Any]] = {}

    def blank() -> dict[str, Any]:
        return {
            "total_revenue": ZERO,
            "total_quantity": 0,
            "total_orders": 0,
            "unique_customers": 0,
            "return_count": 0,
            "freight_revenue": ZERO,
            "unconverted_lines": 0,
            "_returned": ZERO,
        }

    for (d, ch), g in rev.groupby(["order_date", "channel"]):
        row = agg.setdefault((d, ch), blank())
        row["total_revenue"] = known_sum(g["sales_total_base"])
        row["total_quantity"] = int(sum(g["quantity"]))
        row["total_orders"] = g["order_id"].nunique()
        row["unique_customers"] = g["customer_id"].nunique()
        row["unconverted_lines"] = sum(1 for v in g["sales_total_base"] if v is None)
    for (d, ch), g in sold_orders.groupby(["order_date", "channel"]):
        agg[(d, ch)]["freight_revenue"] = known_sum(g["freight_total_base"])
    for (d, ch), g in rets.groupby(["return_date", "channel"]):
        row = agg.setdefault((d, ch), blank())
        row["return_count"] = len(g)
        row["_returned"] = known_sum(g["return_amount_base"])
    ads = []
    for (d, ch), row in sorted(agg.items()):
        aov = avg_money(row["total_revenue"], row["total_orders"]) if row["total_orders"] else ZERO
        returned = row.pop("_returned")
        net = None if None in (row["total_revenue"], returned) else row["total_revenue"] - returned
        ads.append(
            {"sales_date": d, "channel": ch, **row, "avg_order_value": aov, "net_revenue": net}
        )
    out["agg_daily_sales"] = _frame(
        ads,
        [
            "sales_date",
            "channel",
            "total_revenue",
            "total_quantity",
            "total_orders",
            "unique_customers",
            "return_count",
            "avg_order_value",
            "net_revenue",
            "freight_revenue",
            "unconverted_lines",
        ],
    )

    # ---- daily_revenue
    daily: dict[tuple, dict[str, Any]] = {}

    def blank_day() -> dict[str, Any]:
        return {
            "revenue_local": ZERO,
            "revenue_base": ZERO,
            "orders": 0,
            "units": 0,
            "freight_revenue": ZERO,
            "unconverted_lines": 0,
            "_returned": ZERO,
        }

    for (d, st), g in rev.groupby(["order_date", "store_id"]):
        daily[(d, st)] = {
            **blank_day(),
            "revenue_local": dsum(g["sales_total"]),
            "revenue_base": known_sum(g["sales_total_base"]),
            "orders": g["order_id"].nunique(),
            "units": int(sum(g["quantity"])),
            "unconverted_lines": sum(1 for v in g["sales_total_base"] if v is None),
        }
    for (d, st), g in sold_orders.groupby(["order_date", "store_id"]):
        daily[(d, st)]["freight_revenue"] = known_sum(g["freight_total_base"])
    for (d, st), g in rets.groupby(["return_date", "store_id"]):
        daily.setdefault((d, st), blank_day())["_returned"] = known_sum(g["return_amount_base"])
    dr = []
    for (d, st), row in sorted(daily.items()):
        returned = row.pop("_returned")
        net = None if None in (row["revenue_base"], returned) else row["revenue_base"] - returned
        dr.append(
            {
                "sales_date": d,
                "store_id": st,
                "channel": stores.at[st, "channel"] if st in stores.index else None,
                "currency": stores.at[st, "currency"] if st in stores.index else None,
                **row,
                "net_revenue": net,
            }
        )
    out["daily_revenue"] = _frame(
        dr,
        [
            "sales_date",
            "store_id",
            "channel",
            "currency",
            "revenue_local",
            "revenue_base",
            "orders",
            "units",
            "net_revenue",
            "freight_revenue",
            "unconverted_lines",
        ],
    )

    # ---- product_sales_monthly, best_sellers_monthly
    psm = []
    for (m, p), g in rev.groupby(["month", "product_id"]):
        psm.append(
            {
                "month": m,
                "product_id": p,
                "category": category.get(p),
                "units": int(sum(g["quantity"])),
                "revenue_base": known_sum(g["sales_total_base"]),
                "orders": g["order_id"].nunique(),
                "customers": g["customer_id"].nunique(),
                "unconverted_lines": sum(1 for v in g["sales_total_base"] if v is None),
            }
        )
    psm_df = _frame(
        psm,
        [
            "month",
            "product_id",
            "category",
            "units",
            "revenue_base",
            "orders",
            "customers",
            "unconverted_lines",
        ],
    )
    out["product_sales_monthly"] = psm_df
    bsm = psm_df[["month", "product_id", "units", "revenue_base"]].copy()
    bsm["rank_by_units"] = None
    bsm["rank_by_revenue"] = None
    for _, idx in bsm.groupby("month").groups.items():
        part = bsm.loc[idx]
        bsm.loc[idx, "rank_by_units"] = rank_desc(part["units"])
        bsm.loc[idx, "rank_by_revenue"] = rank_desc(part["revenue_base"])
    out["best_sellers_monthly"] = bsm.reset_index(drop=True)

    # ---- store_performance_monthly
    spm: dict[tuple, dict[str, Any]] = {}
    for (m, st), g in rev.groupby(["month", "store_id"]):
        spm[(m, st)] = {
            "revenue_base": known_sum(g["sales_total_base"]),
            "orders": g["order_id"].nunique(),
            "units": int(sum(g["quantity"])),
            "customers": g["customer_id"].nunique(),
            "return_count": 0,
            "returned_amount_base": ZERO,
            "unconverted_lines": sum(1 for v in g["sales_total_base"] if v is None),
        }
    freight_of = {
        k: known_sum(g["freight_total_base"]) for k, g in sold_orders.groupby(["month", "store_id"])
    }
    for (m, st), g in rets.groupby(["month", "store_id"]):
        row = spm.setdefault(
            (m, st),
            {
                "revenue_base": ZERO,
                "orders": 0,
                "units": 0,
                "customers": 0,
                "return_count": 0,
                "returned_amount_base": ZERO,
                "unconverted_lines": 0,
            },
        )
        row["return_count"] = len(g)
        row["returned_amount_base"] = known_sum(g["return_amount_base"])
    spm_rows = []
    for (m, st), row in sorted(spm.items()):
        spm_rows.append(
            {
                "month": m,
                "store_id": st,
                "channel": stores.at[st, "channel"] if st in stores.index else None,
                "revenue_base": row["revenue_base"],
                "orders": row["orders"],
                "units": row["units"],
                "customers": row["customers"],
                "avg_order_value": avg_money(row["revenue_base"], row["orders"])
                if row["orders"]
                else None,
                "return_count": row["return_count"],
                "returned_amount_base": row["returned_amount_base"],
                "net_revenue": None
                if None in (row["revenue_base"], row["returned_amount_base"])
                else row["revenue_base"] - row["returned_amount_base"],
                "freight_revenue": freight_of.get((m, st), ZERO),
                "unconverted_lines": row["unconverted_lines"],
            }
        )
    out["store_performance_monthly"] = _frame(
        spm_rows,
        [
            "month",
            "store_id",
            "channel",
            "revenue_base",
            "orders",
            "units",
            "customers",
            "avg_order_value",
            "return_count",
            "returned_amount_base",
            "net_revenue",
            "freight_revenue",
            "unconverted_lines",
        ],
    )

    # ---- customer_features
    ret_by_cust = rets.groupby("customer_id")
    returned_units = {c: int(sum(g["return_qty"])) for c, g in ret_by_cust}
    returned_base = {c: dsum(g["return_amount_base"]) or ZERO for c, g in ret_by_cust}
    cf = []
    for c, g in rev.groupby("customer_id"):
        first, last = min(g["order_date"]), max(g["order_date"])
        frequency = g["order_id"].nunique()
        monetary = dsum(g["sales_total_base"])
        units = int(sum(g["quantity"]))
        by_cat: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for p, b in zip(g["product_id"], g["sales_total_base"], strict=True):
            cat = category.get(p)
            if cat is not None and b is not None:
                by_cat[cat] += b
        favourite = min(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))[0] if by_cat else None
        ru = returned_units.get(c, 0)
        cf.append(
            {
                "customer_id": c,
                "first_order_date": first,
                "last_order_date": last,
                "recency_days": (as_of - last).days,
                "frequency": frequency,
                "monetary": monetary,
                "avg_basket": avg_money(monetary, frequency),
                "tenure_days": (as_of - first).days,
                "units": units,
                "returned_units": ru,
                "return_rate": ratio(ru, units),
                "favourite_category": favourite,
                "as_of": as_of,
            }
        )
    cf_df = _frame(
        cf,
        [
            "customer_id",
            "first_order_date",
            "last_order_date",
            "recency_days",
            "frequency",
            "monetary",
            "avg_basket",
            "tenure_days",
            "units",
            "returned_units",
            "return_rate",
            "favourite_category",
            "as_of",
        ],
    )
    out["customer_features"] = cf_df

    # ---- customer_value
    cv = [
        {
            "customer_id": r["customer_id"],
            "lifetime_value": None
            if r["monetary"] is None
            else r["monetary"] - returned_base.get(r["customer_id"], ZERO),
            "orders": r["frequency"],
            "recency_days": r["recency_days"],
        }
        for r in cf
    ]
    r_score = ntile(
        5,
        [
            r["customer_id"]
            for r in sorted(cv, key=lambda r: (-r["recency_days"], r["customer_id"]))
        ],
    )
    f_score = ntile(
        5, [r["customer_id"] for r in sorted(cv, key=lambda r: (r["orders"], r["customer_id"]))]
    )
    m_score = ntile(
        5,
        [
            r["customer_id"]
            for r in sorted(
                cv,
                key=lambda r: (
                    r["lifetime_value"] is None,
                    r["lifetime_value"] or ZERO,
                    r["customer_id"],
                ),
            )
        ],
    )
    for r in cv:
        rs, fsc = r_score[r["customer_id"]], f_score[r["customer_id"]]
        r["r_score"], r["f_score"], r["m_score"] = rs, fsc, m_score[r["customer_id"]]
        if rs >= 4 and fsc >= 4:
            seg = "Champions"
        elif rs >= 3 and fsc >= 3:
            seg = "Loyal"
        elif rs >= 4:
            seg = "New"
        elif rs <= 2 and fsc >= 3:
            seg = "At risk"
        elif rs <= 2:
            seg = "Lost"
        else:
            seg = "Potential"
        r["rfm_segment"] = seg
    out["customer_value"] = _frame(
        cv,
        [
            "customer_id",
            "lifetime_value",
            "orders",
            "recency_days",
            "r_score",
            "f_score",
            "m_score",
            "rfm_segment",
        ],
    )

    # ---- product_returns
    ret_by_prod = {p: g for p, g in rets.groupby("product_id")}
    pr = []
    for p, g in rev.groupby("product_id"):
        units_sold = int(sum(g["quantity"]))
        rg = ret_by_prod.get(p)
        if rg is None or rg.empty:
            units_returned, amount, top = 0, ZERO, None
        else:
            units_returned = int(sum(rg["return_qty"]))
            amount = dsum(rg["return_amount_base"]) or ZERO
            counts = rg["reason"].dropna().value_counts()
            top = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if len(counts) else None
        pr.append(
            {
                "product_id": p,
                "units_sold": units_sold,
                "units_returned": units_returned,
                "return_rate": ratio(units_returned, units_sold),
                "return_amount_base": amount,
                "top_reason": top,
            }
        )
    out["product_returns"] = _frame(
        pr,
        [
            "product_id",
            "units_sold",
            "units_returned",
            "return_rate",
            "return_amount_base",
            "top_reason",
        ],
    )

    # ---- payment_refunds (via fact_payments)
    pays = s["payments"].copy()
    refunds = s["refunds"]
    done = refunds[refunds["status"] == "completed"]
    ref_count = done.groupby("payment_id").size().to_dict()
    ref_amount = {p: dsum(g["amount"]) for p, g in done.groupby("payment_id")}
    # a payment without a time or a currency takes its order's
    order_ts = dict(zip(orders["order_id"], orders["order_ts"], strict=True))
    order_currency = dict(zip(orders["order_id"], orders["currency"], strict=True))
    pays["transaction_ts"] = [
        ts if ts is not None else order_ts.get(o)
        for ts, o in zip(pays["transaction_ts"], pays["order_id"], strict=True)
    ]
    pays["currency"] = [
        c if c is not None else order_currency.get(o, BASE)
        for c, o in zip(pays["currency"], pays["order_id"], strict=True)
    ]
    pays["fx_rate"] = [
        rates(c, ts.date()) for c, ts in zip(pays["currency"], pays["transaction_ts"], strict=True)
    ]
    pays["fx_missing"] = [r is None for r in pays["fx_rate"]]
    pays["amount_base"] = [
        None if r is None else money(a * r)
        for a, r in zip(pays["amount"], pays["fx_rate"], strict=True)
    ]
    pays["refund_count"] = [int(ref_count.get(p, 0)) for p in pays["payment_id"]]
    pays["refunded_amount"] = [ref_amount.get(p) or ZERO for p in pays["payment_id"]]
    pays["refunded_amount_base"] = [
        None if r is None else money(a * r)
        for a, r in zip(pays["refunded_amount"], pays["fx_rate"], strict=True)
    ]
    pays["payment_date"] = [ts.date() for ts in pays["transaction_ts"]]
    pays["net_amount"] = [
        a - r if st == "captured" else ZERO
        for a, r, st in zip(pays["amount"], pays["refunded_amount"], pays["status"], strict=True)
    ]
    last_refund = {p: max(g["refund_ts"]) for p, g in done.groupby("payment_id")}
    pays["last_refund_ts"] = [last_refund.get(p) for p in pays["payment_id"]]
    order_customer = dict(zip(orders["order_id"], orders["customer_id"], strict=True))
    pays["customer_id"] = [order_customer.get(o) for o in pays["order_id"]]
    pays["customer_sk"] = [
        cust_versions.sk(c, t)
        for c, t in zip(pays["customer_id"], pays["transaction_ts"], strict=True)
    ]
    out["fact_payments"] = pays[
        [
            "payment_id",
            "order_id",
            "customer_id",
            "customer_sk",
            "payment_type",
            "card_brand",
            "status",
            "currency",
            "amount",
            "fx_rate",
            "amount_base",
            "transaction_ts",
            "payment_date",
            "refund_count",
            "refunded_amount",
            "refunded_amount_base",
            "net_amount",
            "last_refund_ts",
            "installments",
            "fx_missing",
        ]
    ].reset_index(drop=True)
    prf = []
    for t, g in pays.groupby("payment_type"):
        cap = g[g["status"] == "captured"]
        captured_base = dsum(cap["amount_base"]) or ZERO
        refunded_base = dsum(cap["refunded_amount_base"]) or ZERO
        prf.append(
            {
                "payment_type": t,
                "payments": len(cap),
                "captured_amount_base": captured_base,
                "refunds": int(sum(cap["refund_count"])),
                "refunded_amount_base": refunded_base,
                "refund_rate": ratio(refunded_base, captured_base),
                "failed_payments": int((g["status"] == "failed").sum()),
            }
        )
    out["payment_refunds"] = _frame(
        prf,
        [
            "payment_type",
            "payments",
            "captured_amount_base",
            "refunds",
            "refunded_amount_base",
            "refund_rate",
            "failed_payments",
        ],
    )

    # ---- web_funnel_daily
    clicks = s["clickstream"].copy()
    clicks["event_date"] = [ts.date() for ts in clicks["event_ts"]]
    wf = []
    for d, g in clicks.groupby("event_date"):
        sessions = g["session_id"].nunique()
        by = {
            t: g.loc[g["event_type"] == t, "session_id"].nunique()
            for t in ("view", "add_to_cart", "checkout", "purchase")
        }
        wf.append(
            {
                "event_date": d,
                "sessions": sessions,
                "view_sessions": by["view"],
                "cart_sessions": by["add_to_cart"],
                "checkout_sessions": by["checkout"],
                "purchase_sessions": by["purchase"],
                "view_to_cart": ratio(by["add_to_cart"], by["view"]),
                "cart_to_checkout": ratio(by["checkout"], by["add_to_cart"]),
                "checkout_to_purchase": ratio(by["purchase"], by["checkout"]),
                "conversion_rate": ratio(by["purchase"], sessions),
            }
        )
    out["web_funnel_daily"] = _frame(
        wf,
        [
            "event_date",
            "sessions",
            "view_sessions",
            "cart_sessions",
            "checkout_sessions",
            "purchase_sessions",
            "view_to_cart",
            "cart_to_checkout",
            "checkout_to_purchase",
            "conversion_rate",
        ],
    )

    # ---- fact_inventory
    inv = s["inventory"]
    fi = inv.copy()
    fi["store_sk"] = [st if st in known_stores else UNKNOWN_SK for st in fi["store_id"]]
    fi["product_sk"] = [
        prod_versions.sk(p, datetime.combine(d, datetime.min.time()))
        for p, d in zip(fi["product_id"], fi["snapshot_date"], strict=True)
    ]
    fi["is_stock_out"] = [q == 0 for q in fi["on_hand_qty"]]
    fi["below_reorder_point"] = [
        r is not None and q <= r
        for q, r in zip(fi["on_hand_qty"], fi["reorder_point"], strict=True)
    ]
    out["fact_inventory"] = fi[
        [
            "snapshot_date",
            "store_id",
            "store_sk",
            "product_id",
            "product_sk",
            "on_hand_qty",
            "reorder_point",
            "is_stock_out",
            "below_reorder_point",
        ]
    ].reset_index(drop=True)

    # ---- inventory_health
    window_start = as_of - timedelta(days=30)  # strictly after this date
    recent = rev[[d > window_start for d in rev["order_date"]]]
    sold_30d = {k: int(sum(g["quantity"])) for k, g in recent.groupby(["store_id", "product_id"])}
    ih = []
    for (st, p), g in inv.groupby(["store_id", "product_id"]):
        last = g.sort_values("snapshot_date").iloc[-1]
        on_hand, reorder = last["on_hand_qty"], last["reorder_point"]
        stock_out_days = int(
            sum(
                1
                for d, q in zip(g["snapshot_date"], g["on_hand_qty"], strict=True)
                if q == 0 and d > window_start
            )
        )
        units30 = sold_30d.get((st, p), 0)
        avg_daily = ratio(units30, 30)
        cover = ratio(on_hand, avg_daily, TENTH) if units30 and on_hand is not None else None
        ih.append(
            {
                "store_id": st,
                "product_id": p,
                "last_snapshot_date": last["snapshot_date"],
                "on_hand_qty": on_hand,
                "reorder_point": reorder,
                "stock_out_days": stock_out_days,
                "units_sold_30d": units30,
                "avg_daily_units": avg_daily,
                "days_of_cover": cover,
                "needs_reorder": None if on_hand is None or reorder is None else on_hand <= reorder,
            }
        )
    out["inventory_health"] = _frame(
        ih,
        [
            "store_id",
            "product_id",
            "last_snapshot_date",
            "on_hand_qty",
            "reorder_point",
            "stock_out_days",
            "units_sold_30d",
            "avg_daily_units",
            "days_of_cover",
            "needs_reorder",
        ],
    )
    return {name: _plain(df) for name, df in out.items()}

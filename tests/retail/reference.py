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
(file, row) position is dropped, files listed as ``unreadable_file`` are skipped, and columns
outside the contract (schema drift) are ignored; what remains is the clean data, which is what
silver keeps.
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

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
TENTH = Decimal("0.1")
ZERO = Decimal("0")

TIMESTAMPS = {
    "customers": ("created_at", "updated_at"),
    "products": ("updated_at",),
    "stores": ("updated_at",),
    "orders": ("order_ts", "updated_at"),
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
    "returns": ("line_no", "return_qty"),
    "inventory": ("on_hand_qty", "reorder_point"),
}
DECIMALS = {
    "products": ("list_price", "unit_cost"),
    "order_items": ("unit_price", "discount_amount", "tax_amount"),
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


def _ledger_positions(ledger: dict | None) -> tuple[set[tuple[str, int]], set[str]]:
    if not ledger:
        return set(), set()
    rows = {(d["file"], d["row"]) for d in ledger["defects"] if d.get("row") is not None}
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


def load_silver(landing: Path, ledger: dict | None = None) -> dict[str, pd.DataFrame]:
    """Silver as docs/gold.md reads it: typed, exact duplicates removed, the latest version per
    key for versioned sources (``<source>_history`` keeps every distinct version of customers
    and products), each event once for the others."""
    out: dict[str, pd.DataFrame] = {}
    for source, contract in SOURCES.items():
        df = _typed(source, read_source(Path(landing), source, ledger))
        df = df.drop_duplicates(keep="first").reset_index(drop=True)
        keys = list(contract.keys)
        if source in ("customers", "products"):
            out[f"{source}_history"] = df.copy()
        if source in VERSIONED:
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
    """rate_to_base of a currency on a date, or the latest earlier rate_date; USD 1 if none."""

    def __init__(self, fx: pd.DataFrame) -> None:
        by_cur: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for d, c, r in zip(fx["rate_date"], fx["currency"], fx["rate_to_base"], strict=True):
            by_cur[c].append((d, r))
        self._dates = {c: [d for d, _ in sorted(v)] for c, v in by_cur.items()}
        self._rates = {c: [r for _, r in sorted(v)] for c, v in by_cur.items()}

    def __call__(self, currency: str | None, on: date | None) -> Decimal | None:
        if currency is None or on is None:
            return None
        dates = self._dates.get(currency)
        if dates:
            i = bisect.bisect_right(dates, on)
            if i:
                return self._rates[currency][i - 1]
        if currency == "USD" and currency not in self._dates:
            return Decimal("1")
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
    fs["is_revenue"] = [st != "cancelled" for st in fs["item_status"]]
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
        revenue = [ln for ln in lines if ln["is_revenue"]]
        cancelled = [ln for ln in lines if ln["item_status"] == "cancelled"]
        delivered = [ln for ln in lines if ln["item_status"] == "delivered"]
        if len(cancelled) == len(lines):
            status = "Cancelled"
        elif all(ln["item_status"] == "delivered" for ln in revenue):
            status = "Completed"
        else:
            status = "In progress"
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
                "order_total": dsum(ln["sales_total"] for ln in revenue) if revenue else ZERO,
                "order_total_base": (
                    dsum(ln["sales_total_base"] for ln in revenue) if revenue else ZERO
                ),
                "completion_status": status,
                "delivered_at": delivered_at,
                "delivery_days": delivery_days,
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
        ]
    ].reset_index(drop=True)

    # ---- agg_daily_sales
    agg: dict[tuple, dict[str, Any]] = {}

    def blank() -> dict[str, Any]:
        return {
            "total_revenue": ZERO,
            "total_quantity": 0,
            "total_orders": 0,
            "unique_customers": 0,
            "return_count": 0,
        }

    for (d, ch), g in rev.groupby(["order_date", "channel"]):
        row = agg.setdefault((d, ch), blank())
        row["total_revenue"] = dsum(g["sales_total_base"])
        row["total_quantity"] = int(sum(g["quantity"]))
        row["total_orders"] = g["order_id"].nunique()
        row["unique_customers"] = g["customer_id"].nunique()
    for (d, ch), g in rets.groupby(["return_date", "channel"]):
        agg.setdefault((d, ch), blank())["return_count"] = len(g)
    ads = []
    for (d, ch), row in sorted(agg.items()):
        aov = avg_money(row["total_revenue"], row["total_orders"]) if row["total_orders"] else ZERO
        ads.append({"sales_date": d, "channel": ch, **row, "avg_order_value": aov})
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
        ],
    )

    # ---- daily_revenue
    dr = []
    for (d, st), g in rev.groupby(["order_date", "store_id"]):
        dr.append(
            {
                "sales_date": d,
                "store_id": st,
                "channel": stores.at[st, "channel"] if st in stores.index else None,
                "currency": stores.at[st, "currency"] if st in stores.index else None,
                "revenue_local": dsum(g["sales_total"]),
                "revenue_base": dsum(g["sales_total_base"]),
                "orders": g["order_id"].nunique(),
                "units": int(sum(g["quantity"])),
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
                "revenue_base": dsum(g["sales_total_base"]),
                "orders": g["order_id"].nunique(),
                "customers": g["customer_id"].nunique(),
            }
        )
    psm_df = _frame(
        psm, ["month", "product_id", "category", "units", "revenue_base", "orders", "customers"]
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
            "revenue_base": dsum(g["sales_total_base"]),
            "orders": g["order_id"].nunique(),
            "units": int(sum(g["quantity"])),
            "customers": g["customer_id"].nunique(),
            "return_count": 0,
            "returned_amount_base": ZERO,
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
            },
        )
        row["return_count"] = len(g)
        row["returned_amount_base"] = dsum(g["return_amount_base"]) or ZERO
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
    pays["fx_rate"] = [
        rates(c, ts.date()) for c, ts in zip(pays["currency"], pays["transaction_ts"], strict=True)
    ]
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

"""Gold against an independent reference (tests/retail/reference.py, written from docs/gold.md).

The pipeline runs once per generated dataset; every mart and the two main facts must hold the
same rows as the reference, every compared column equal (money to the cent, no floats).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate

from . import reference

TABLES = [
    "fact_sales",
    "fact_orders",
    "fact_payments",
    "fact_returns",
    "fact_inventory",
    "agg_daily_sales",
    "daily_revenue",
    "product_sales_monthly",
    "store_performance_monthly",
    "best_sellers_monthly",
    "customer_features",
    "customer_value",
    "product_returns",
    "payment_refunds",
    "web_funnel_daily",
    "inventory_health",
]


#: the only value types the reference may hold (no float, NaN, NaT or pandas Timestamp)
PLAIN = {"NoneType", "bool", "int", "str", "Decimal", "date", "datetime"}


@dataclass
class Built:
    project: Project
    reference: dict[str, pd.DataFrame]
    tables: set[str]


def _add_edge_cases(landing: Path, end: dt.date) -> None:
    """Rows the generator does not produce, in files of their own: an order whose every line is
    cancelled, two days after the last day (it becomes as_of; its day and channel have no sales);
    a return of a first-day in-store line six weeks later (a month and a store, and a day and a
    channel, with returns but no sales)."""
    first_items = sorted((landing / "order_items").glob("*.csv"))[0].read_text().splitlines()
    line = next(ln.split(",") for ln in first_items[1:] if ",delivered," in ln)
    order_id, line_no, product_id = line[0], line[1], line[2]
    first_orders = sorted((landing / "orders").glob("*.csv"))[0].read_text().splitlines()
    customer_id = next(ln.split(",")[1] for ln in first_orders[1:] if ln.startswith(order_id))
    day = (end + dt.timedelta(days=2)).isoformat()
    ts = f"{day}T10:00:00"
    (landing / "orders" / f"orders_{day}.csv").write_text(
        "order_id,customer_id,store_id,channel,order_ts,currency,status,updated_at\n"
        f"O90000001,{customer_id},S002,online,{ts},EUR,cancelled,{ts}\n"
    )
    (landing / "order_items" / f"order_items_{day}.csv").write_text(
        "order_id,line_no,product_id,quantity,unit_price,discount_amount,tax_amount,"
        "item_status,shipped_at,delivered_at,updated_at\n"
        f"O90000001,1,{product_id},1,12.91,0.00,2.45,cancelled,,,{ts}\n"
    )
    returned = (end + dt.timedelta(days=42)).isoformat()
    (landing / "returns" / f"returns_{day}.csv").write_text(
        "return_id,order_id,line_no,return_qty,return_amount,reason,returned_at\n"
        f"R90000001,{order_id},{line_no},1,1.00,damaged,{returned}T09:00:00\n"
    )


def _build(
    root: Path, *, days: int, defects: float, seed: int, start: dt.date, edges: bool = False
) -> Built:
    landing = root / "landing"
    generate(landing, days=days, scale=0.02, seed=seed, start_date=start, defects=defects)
    if edges:
        _add_edge_cases(landing, start + dt.timedelta(days=days - 1))
    write_demo_config(root)
    project = Project.load(root)
    summary = api.run(project).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    ledger = json.loads((landing / "_ledger.json").read_text()) if defects else None
    tables = set(api.status(project).column("table").to_pylist())
    return Built(project, reference.compute(landing, ledger), tables)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Three weeks across a month boundary, no defects, plus hand-made edge cases."""
    root = tmp_path_factory.mktemp("gold_ref_clean")
    return _build(root, days=21, defects=0.0, seed=5, start=dt.date(2026, 1, 20), edges=True)


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Ten days with 5 % defects; the reference drops the ledger's rows and files."""
    root = tmp_path_factory.mktemp("gold_ref_defects")
    return _build(root, days=10, defects=0.05, seed=9, start=dt.date(2026, 3, 26))


# --------------------------------------------------------------------------- comparison


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return Decimal(a) == Decimal(b)
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        return type(a) is type(b) and a == b
    return type(a) is type(b) and a == b


def _show(v: Any) -> str:
    return "NULL" if v is None else repr(v)


def diff_table(
    name: str, pipeline: pa.Table, ref: pd.DataFrame, keys: tuple[str, ...], limit: int = 15
) -> list[str]:
    """Differences between a gold table and the reference, most telling first: missing or
    floating-point columns, duplicate keys, rows only on one side, then (key, column,
    pipeline value, reference value) for each differing cell."""
    problems: list[str] = []
    columns = list(ref.columns)
    missing = [c for c in columns if c not in pipeline.schema.names]
    if missing:
        problems.append(f"columns missing from gold.{name}: {missing}")
    floats = [
        f"{f.name} ({f.type})"
        for f in pipeline.schema
        if f.name in columns and pa.types.is_floating(f.type)
    ]
    if floats:
        problems.append(f"floating-point columns in gold.{name} (must be DECIMAL): {floats}")
    compared = [c for c in columns if c in pipeline.schema.names]

    def index(rows: list[dict[str, Any]], side: str) -> dict[tuple, dict[str, Any]]:
        out: dict[tuple, dict[str, Any]] = {}
        for r in rows:
            k = tuple(r[c] for c in keys)
            if k in out:
                problems.append(f"{side}: duplicate key {dict(zip(keys, k, strict=True))}")
            out[k] = r
        return out

    got = index(pipeline.select(compared).to_pylist(), "pipeline")
    want = index(ref[compared].to_dict("records"), "reference")
    only_got = sorted(set(got) - set(want), key=repr)
    only_want = sorted(set(want) - set(got), key=repr)
    if only_got:
        problems.append(
            f"{len(only_got)} rows only in the pipeline, e.g. "
            + "; ".join(repr(got[k]) for k in only_got[:3])
        )
    if only_want:
        problems.append(
            f"{len(only_want)} rows only in the reference, e.g. "
            + "; ".join(repr(want[k]) for k in only_want[:3])
        )
    cells = []
    per_column: dict[str, int] = {}
    for k in sorted(set(got) & set(want), key=repr):
        for c in compared:
            if not _same(got[k][c], want[k][c]):
                per_column[c] = per_column.get(c, 0) + 1
                cells.append(
                    f"  key {dict(zip(keys, k, strict=True))} column {c}: "
                    f"pipeline {_show(got[k][c])}, reference {_show(want[k][c])}"
                )
    if cells:
        problems.append(
            f"{len(cells)} differing cells (per column: {per_column}); first:\n"
            + "\n".join(cells[:limit])
        )
    return problems


def _check(built: Built, table: str) -> None:
    assert f"gold.{table}" in built.tables, f"the pipeline does not build gold.{table}"
    got = api.query(built.project, f"SELECT * FROM gold.{table}")
    problems = diff_table(table, got, built.reference[table], reference.KEYS[table])
    assert not problems, (
        f"gold.{table} vs reference ({got.num_rows} rows vs "
        f"{len(built.reference[table])}):\n" + "\n".join(problems)
    )


# --------------------------------------------------------------------------- tests


def test_reference_is_self_consistent(clean: Built):
    ref = clean.reference
    fs = ref["fact_sales"]
    rev = fs[fs["is_revenue"].astype(bool)]
    total = sum(rev["sales_total_base"], Decimal(0))
    for table, column in [
        ("agg_daily_sales", "total_revenue"),
        ("daily_revenue", "revenue_base"),
        ("product_sales_monthly", "revenue_base"),
        ("store_performance_monthly", "revenue_base"),
        ("best_sellers_monthly", "revenue_base"),
        ("customer_features", "monetary"),
        ("fact_orders", "order_total_base"),
    ]:
        assert sum(ref[table][column], Decimal(0)) == total, (table, column)
    assert ref["fact_orders"]["order_id"].is_unique
    assert set(ref["fact_orders"]["completion_status"]) <= {"Completed", "Cancelled", "In progress"}
    assert len({m for m in ref["product_sales_monthly"]["month"]}) == 2  # spans a month end
    # the edge cases are there: as_of is the cancelled order's day, which has no sales row
    as_of = ref["customer_features"]["as_of"][0]
    assert as_of == dt.date(2026, 2, 11)
    assert as_of not in set(ref["agg_daily_sales"]["sales_date"])
    spm = ref["store_performance_monthly"]
    assert ((spm["orders"] == 0) & (spm["return_count"] == 1)).sum() == 1
    for name, df in ref.items():
        for c in df.columns:
            odd = {type(v).__name__ for v in df[c]} - PLAIN
            assert not odd, (name, c, odd)


@pytest.mark.parametrize("table", TABLES)
def test_gold_matches_reference_on_clean_data(clean: Built, table: str):
    _check(clean, table)


# a second retailer built and run; the clean one is the fast part (test_ledger_e2e's defects too)
@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_gold_matches_reference_on_data_with_defects(defective: Built, table: str):
    _check(defective, table)


def test_diff_table_names_key_column_and_both_values(clean: Built):
    ref = clean.reference["agg_daily_sales"]
    rows = ref.to_dict("records")
    rows[0] = {**rows[0], "total_revenue": rows[0]["total_revenue"] + Decimal("0.01")}
    extra = {**rows[1], "channel": "phone"}
    got = pa.Table.from_pylist([*rows[1:], rows[0], extra])
    problems = diff_table("agg_daily_sales", got, ref, reference.KEYS["agg_daily_sales"])
    text = "\n".join(problems)
    assert "1 rows only in the pipeline" in text and "'phone'" in text
    assert "column total_revenue" in text
    assert f"pipeline {rows[0]['total_revenue']!r}" in text
    assert (
        diff_table(
            "agg_daily_sales",
            pa.Table.from_pylist(rows[:0] + rows[1:]),
            ref,
            reference.KEYS["agg_daily_sales"],
        )
        != []
    )
    floaty = pa.Table.from_pylist(
        [{**r, "total_revenue": float(r["total_revenue"])} for r in ref.to_dict("records")]
    )
    assert "floating-point" in "\n".join(
        diff_table("agg_daily_sales", floaty, ref, reference.KEYS["agg_daily_sales"])
    )

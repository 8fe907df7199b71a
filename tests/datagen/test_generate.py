"""Shape, determinism, scale and clean-data invariants of the synthetic retailer."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from datagen_helpers import date_of, load_ledger, read_source, read_source_file

from lakeshop.datagen import generate
from lakeshop.datagen.formats import (
    CHANNELS,
    CURRENCIES,
    GENDERS,
    ITEM_STATUSES,
    LOYALTY_TIERS,
    ORDER_STATUSES,
    SOURCES,
)

NAME = re.compile(r"^(?P<src>[a-z_]+)_(?P<d>\d{4}-\d{2}-\d{2})(_(?P<n>\d+))?\.(csv|jsonl)$")


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name != "_ledger.json"
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"days": 1, "scale": 0},
        {"days": 1, "scale": -1},
        {"days": 1, "defects": 0.6},
        {"days": 1, "defects": -0.1},
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_deterministic_and_prefix_stable(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, days=3, scale=0.02, seed=5, defects=0.05)
    generate(b, days=3, scale=0.02, seed=5, defects=0.05)
    generate(c, days=5, scale=0.02, seed=5, defects=0.05)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    assert (a / "_ledger.json").read_bytes() == (b / "_ledger.json").read_bytes()
    first3 = {k: v for k, v in fc.items() if date_of(Path(k)) <= "2026-01-03"}
    assert fa == first3
    la, lc = load_ledger(a), load_ledger(c)
    assert la["defects"] == [e for e in lc["defects"] if e["file"] in fa]
    other = tmp_path / "d"
    generate(other, days=3, scale=0.02, seed=6, defects=0.05)
    assert _files(other) != fa


def test_file_names_headers_and_day_one(defect_run: Path) -> None:
    ledger = load_ledger(defect_run)
    drift = {e["file"]: e["field"] for e in ledger["defects"] if e["kind"] == "schema_drift"}
    unreadable = {e["file"] for e in ledger["defects"] if e["kind"] == "unreadable_file"}
    listed = {f["file"]: f for f in ledger["files"]}
    for source, spec in SOURCES.items():
        files = sorted((defect_run / source).iterdir())
        assert any(date_of(p) == "2026-01-01" for p in files), source
        for p in files:
            m = NAME.match(p.name)
            assert m and m["src"] == source and p.suffix == "." + spec.format
            assert m["n"] is None or int(m["n"]) >= 2
            rel = f"{source}/{p.name}"
            assert rel in listed
            if rel in unreadable:
                continue
            data = p.read_bytes()
            n_lines = data.count(b"\n")
            if spec.format == "csv":
                header = data.split(b"\n", 1)[0].decode().split(",")
                expected = list(spec.fields) + ([drift[rel]] if rel in drift else [])
                assert header == expected, rel
                n_lines -= 1
            else:
                assert rel not in drift
            assert listed[rel]["rows"] == n_lines
            assert data.endswith(b"\n") and b"\r" not in data


def test_scale_order_lines_per_day(tmp_path: Path) -> None:
    generate(tmp_path, days=2, scale=0.1, seed=3, defects=0.0)
    for day in ("2026-01-01", "2026-01-02"):
        rows = read_source(tmp_path, "order_items", day)
        new = {
            (r["order_id"], r["line_no"])
            for r in rows
            if r["updated_at"][:10] == day
            and (
                r["item_status"] == "pending"
                or (
                    r["item_status"] == "delivered"
                    and r["shipped_at"] == r["updated_at"]
                    and r["delivered_at"] == r["updated_at"]
                )
            )
        }
        assert 1400 <= len(new) <= 2600, (day, len(new))


def test_tiny_scale_every_source_every_day(tmp_path: Path) -> None:
    res = generate(tmp_path, days=4, scale=0.01, seed=1, defects=0.0)
    assert res.defects == 0
    for source in SOURCES:
        days = {date_of(p) for p in (tmp_path / source).iterdir()}
        expected = {"2026-01-01"} if source == "stores" else {f"2026-01-0{i}" for i in range(1, 5)}
        assert expected <= days, source
        assert all(p.stat().st_size > 0 for p in (tmp_path / source).iterdir())


def _ts(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", text), text
    return datetime.fromisoformat(text)


def _cents(text: str) -> int:
    assert re.fullmatch(r"\d+\.\d{2}", text), text
    return round(float(text) * 100)


def test_clean_invariants(clean_run: Path) -> None:
    ledger = load_ledger(clean_run)
    assert ledger["defects"] == [] and ledger["defect_rate"] == 0.0
    data = {s: read_source(clean_run, s) for s in SOURCES}
    cust, prod, stores = data["customers"], data["products"], data["stores"]
    for c in cust:
        email = c["email"].strip()
        assert email.count("@") == 1 and "." in email.split("@")[1]
        assert c["gender"] in GENDERS and c["loyalty_tier"] in LOYALTY_TIERS
        _ts(c["updated_at"]), _ts(c["created_at"]), date.fromisoformat(c["birth_date"])
    for p in prod:
        assert _cents(p["list_price"]) > 0 and p["currency"] == "USD"
        assert p["is_active"] in ("true", "false")
    store_cur = {s["store_id"]: s["currency"] for s in stores}
    assert all(s["channel"] in CHANNELS for s in stores)
    assert set(store_cur.values()) == set(CURRENCIES) and 8 <= len(stores) <= 20
    orders: dict[str, Any] = {}
    for o in data["orders"]:
        assert o["status"] in ORDER_STATUSES and o["channel"] in CHANNELS
        assert o["currency"] == store_cur[o["store_id"]]
        orders.setdefault(o["order_id"], o)
        _ts(o["order_ts"]), _ts(o["updated_at"])
    # foreign keys resolve against files of the same day or earlier
    first_seen: dict[str, str] = {}
    for source, key in (
        ("customers", "customer_id"),
        ("products", "product_id"),
        ("orders", "order_id"),
    ):
        for p in sorted((clean_run / source).iterdir()):
            for r in read_source_file(p):
                first_seen.setdefault(r[key], date_of(p))
    for o in data["orders"]:
        assert first_seen[o["customer_id"]] <= o["updated_at"][:10]
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for li in data["order_items"]:
        assert li["item_status"] in ITEM_STATUSES
        assert int(li["quantity"]) > 0 and _cents(li["unit_price"]) > 0
        assert _cents(li["discount_amount"]) >= 0 and _cents(li["tax_amount"]) >= 0
        assert first_seen[li["product_id"]] <= li["updated_at"][:10]
        assert li["order_id"] in orders
        k = (li["order_id"], li["line_no"])
        if k not in latest or latest[k]["updated_at"] < li["updated_at"]:
            latest[k] = li
    totals: Counter[str] = Counter()
    line_total = {}
    for k, li in latest.items():
        t = (
            _cents(li["unit_price"]) * int(li["quantity"])
            - _cents(li["discount_amount"])
            + _cents(li["tax_amount"])
        )
        line_total[k] = (t, int(li["quantity"]))
        if li["item_status"] != "cancelled":
            totals[li["order_id"]] += t
    captured = {}
    for p in data["payments"]:
        assert p["status"] in ("captured", "failed") and p["currency"] in CURRENCIES
        assert (p["card_brand"] is None) == (p["payment_type"] != "card")
        _ts(p["transaction_ts"])
        assert p["order_id"] in orders
        if p["status"] == "captured":
            assert round(p["amount"] * 100) == totals[p["order_id"]], p
            captured[p["payment_id"]] = round(p["amount"] * 100)
    refunded: Counter[str] = Counter()
    for r in data["refunds"]:
        assert r["payment_id"] in captured
        refunded[r["payment_id"]] += round(r["amount"] * 100)
        _ts(r["refund_ts"])
    assert all(v <= captured[k] for k, v in refunded.items())
    assert data["returns"] and data["refunds"]
    for r in data["returns"]:
        total, qty = line_total[(r["order_id"], r["line_no"])]
        assert 0 < int(r["return_qty"]) <= qty and _cents(r["return_amount"]) <= total
        _ts(r["returned_at"])
    for r in data["fx_rates"]:
        assert re.fullmatch(r"\d+\.\d{6}", r["rate_to_base"])
        assert r["currency"] != "USD" or r["rate_to_base"] == "1.000000"
    assert len(data["fx_rates"]) == 4 * 6
    for e in data["clickstream"]:
        _ts(e["event_ts"])
        assert e["customer_id"] is None or e["customer_id"] in first_seen
        assert e["product_id"] is None or e["product_id"] in first_seen
    inv_keys = {(r["snapshot_date"], r["store_id"], r["product_id"]) for r in data["inventory"]}
    assert len(inv_keys) == len(data["inventory"])
    assert all(r["store_id"] in store_cur for r in data["inventory"])


def test_updates_arrive_later(clean_run: Path) -> None:
    versions: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for p in sorted((clean_run / "order_items").iterdir()):
        for r in read_source_file(p):
            versions[(r["order_id"], r["line_no"])].append(
                (date_of(p), r["updated_at"], r["item_status"])
            )
    moved = [v for v in versions.values() if len(v) > 1]
    assert moved
    out_of_order = sum(any(a[1] > b[1] for a, b in pairwise(v)) for v in moved)
    assert 0 < out_of_order < 0.05 * len(moved)


def test_pareto_product_popularity(clean_run: Path) -> None:
    units: Counter[str] = Counter()
    seen = set()
    for li in read_source(clean_run, "order_items"):
        k = (li["order_id"], li["line_no"])
        if k not in seen:
            seen.add(k)
            units[li["product_id"]] += int(li["quantity"])
    n_products = len(read_source(clean_run, "products", "2026-01-01"))
    top = sum(q for _, q in units.most_common(max(1, n_products // 5)))
    assert top / sum(units.values()) > 0.6

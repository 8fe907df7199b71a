"""Every ledger entry is found at its file and row, with the corruption it describes."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from datagen_helpers import date_of, load_ledger, read_csv

from lakeshop.datagen import generate
from lakeshop.datagen.defects import APPLICABLE, BAD_ENUM, KINDS, UNKNOWN_FK
from lakeshop.datagen.formats import (
    CHANNELS,
    CURRENCIES,
    DEVICES,
    EVENT_TYPES,
    GENDERS,
    ITEM_STATUSES,
    LOYALTY_TIERS,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    PAYMENT_TYPES,
    REFUND_STATUSES,
    SOURCES,
)

ENUMS = {
    "gender": GENDERS,
    "loyalty_tier": LOYALTY_TIERS,
    "channel": CHANNELS,
    "currency": CURRENCIES,
    "item_status": ITEM_STATUSES,
    "payment_type": PAYMENT_TYPES,
    "event_type": EVENT_TYPES,
    "device": DEVICES,
}
STATUS = {"orders": ORDER_STATUSES, "payments": PAYMENT_STATUSES, "refunds": REFUND_STATUSES}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _record(path: Path, row: int) -> tuple[str, dict[str, Any] | None]:
    """The physical line of data record ``row`` and its parsed fields (None if unparseable)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if path.suffix == ".csv":
        line = lines[row]
        bad: list[Any] = []
        table = read_csv(
            (lines[0] + "\n" + line + "\n").encode(),
            lambda r: bad.append(r) or "skip",  # type: ignore[func-returns-value]
        )
        return line, (table.to_pylist()[0] if table.num_rows else None)
    line = lines[row - 1]
    try:
        return line, json.loads(line)
    except json.JSONDecodeError:
        return line, None


def _parses_ts(text: Any) -> bool:
    try:
        (date.fromisoformat if len(str(text)) == 10 else datetime.fromisoformat)(str(text))
    except ValueError:
        return False
    return True


def _is_number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def test_every_kind_injected(defect_run: Path) -> None:
    counts = Counter(e["kind"] for e in load_ledger(defect_run)["defects"])
    assert set(counts) == set(KINDS), counts


def test_ledger_entries_found_in_files(defect_run: Path) -> None:
    ledger = load_ledger(defect_run)
    invalid: dict[str, set[int]] = {}
    for f in ledger["files"]:
        path = defect_run / f["file"]
        if f["file"].endswith(".csv") and not f.get("unreadable"):
            rows: list[Any] = []
            read_csv(path.read_bytes(), lambda r, rows=rows: rows.append(r.number - 1) or "skip")
            invalid[f["file"]] = set(rows)
    malformed: dict[str, set[int]] = defaultdict(set)
    for e in ledger["defects"]:
        source, kind, field, path = e["source"], e["kind"], e["field"], defect_run / e["file"]
        assert e["file"].startswith(source + "/")
        if kind == "unreadable_file":
            data = path.read_bytes()
            header = ",".join(SOURCES[source].fields).encode() + b"\n"
            assert data in (b"", header) or b"\x00" in data or not data.isascii()
            continue
        if kind == "schema_drift":
            assert path.read_text().split("\n", 1)[0].split(",")[-1] == field
            continue
        assert field is None or field in APPLICABLE[source][kind]
        line, rec = _record(path, e["row"])
        if kind == "malformed_line":
            malformed[e["file"]].add(e["row"])
            assert rec is None, (e, line)
            continue
        assert rec is not None, (e, line)
        for k, v in e["key"].items():
            assert rec[k] == v, (e, rec)
        value: Any = rec.get(field) if field else None
        if kind == "null_key":
            assert value is None
        elif kind == "malformed_email":
            assert not EMAIL.fullmatch(value.strip())
        elif kind == "non_positive":
            assert float(value) <= 0
        elif kind == "unknown_fk":
            assert value == UNKNOWN_FK[field]
        elif kind == "bad_enum":
            assert value == BAD_ENUM[field]
            assert value not in ENUMS.get(field, STATUS.get(source, ()))
        elif kind == "unparseable_timestamp":
            assert not _parses_ts(value)
        elif kind == "unparseable_number":
            assert not _is_number(value)
        elif kind == "duplicate_row":
            assert path.read_text().split("\n").count(line) >= 2
        elif kind == "stale_version":
            newer = [
                r
                for p in sorted((defect_run / source).iterdir())
                if date_of(p) < date_of(path) and p.suffix == ".csv"
                for r in _grep(p, rec[SOURCES[source].keys[0]])
            ]
            assert any(r > rec["updated_at"] for r in newer), (e, rec)
    for file, invalid_rows in invalid.items():
        assert invalid_rows == malformed.get(file, set()), file


@functools.cache
def _versions(path: Path) -> dict[str, list[str]]:
    """updated_at values per first key field of a CSV file (invalid rows skipped)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in read_csv(path.read_bytes(), lambda r: "skip").to_pylist():
        out[next(iter(r.values()))].append(r["updated_at"])
    return out


def _grep(path: Path, key: str) -> list[str]:
    return _versions(path).get(key, [])


@pytest.mark.parametrize("rate", [0.0, 0.02])
def test_defect_counts_follow_rate(tmp_path: Path, rate: float) -> None:
    res = generate(tmp_path, days=3, scale=0.02, seed=9, defects=rate)
    ledger = load_ledger(tmp_path)
    assert len(ledger["defects"]) == res.defects
    total = sum(f["rows"] for f in ledger["files"])
    row_defects = sum(1 for e in ledger["defects"] if e["row"] is not None)
    assert row_defects <= 2 * rate * total + 5
    if rate == 0:
        assert res.defects == 0
    else:
        assert row_defects >= 0.5 * rate * (total - row_defects)

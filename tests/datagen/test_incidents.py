"""Business incidents injected by the generator: fewer orders, no orders, late files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from datagen_helpers import date_of, load_ledger, read_source_file
from tests.conftest import cli, one_error_line

from lakeshop.datagen import Incident, generate
from lakeshop.datagen.incidents import LATE_SOURCES, OUTAGE_KEEP, REVENUE_DROP_KEEP

DAYS = 4
LAST = "2026-01-04"


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name != "_ledger.json"
    }


def _new_orders(out: Path, day: str) -> dict[str, int]:
    """Orders placed on ``day`` per channel: their first row, placed that day."""
    counts: dict[str, int] = {}
    for r in read_source_file(out / "orders" / f"orders_{day}.csv"):
        if r["order_ts"] == r["updated_at"] and r["order_ts"].startswith(day):
            counts[r["channel"]] = counts.get(r["channel"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plain")
    generate(out, days=DAYS, scale=0.05, seed=3, defects=0.0)
    return out


def _with(tmp_path: Path, *incidents: str) -> Path:
    generate(
        tmp_path,
        days=DAYS,
        scale=0.05,
        seed=3,
        defects=0.0,
        incidents=[Incident.parse(i) for i in incidents],
    )
    return tmp_path


def test_revenue_drop_keeps_about_a_third_of_the_days_orders(plain: Path, tmp_path: Path):
    out = _with(tmp_path, f"revenue-drop:{LAST}")
    before, after = _new_orders(plain, LAST), _new_orders(out, LAST)
    for channel, n in before.items():
        assert after[channel] / n == pytest.approx(REVENUE_DROP_KEEP, abs=0.02), channel
    # the days before are byte-identical to a history without the incident
    same = {k: v for k, v in _files(plain).items() if LAST not in k}
    assert {k: v for k, v in _files(out).items() if LAST not in k} == same
    assert load_ledger(out)["incidents"] == [
        {"kind": "revenue-drop", "date": LAST, "channel": None, "orders_kept": REVENUE_DROP_KEEP}
    ]


def test_revenue_drop_of_one_channel_leaves_the_others(plain: Path, tmp_path: Path):
    out = _with(tmp_path, f"revenue-drop:{LAST}:online")
    before, after = _new_orders(plain, LAST), _new_orders(out, LAST)
    assert after["online"] / before["online"] == pytest.approx(REVENUE_DROP_KEEP, abs=0.02)
    assert after["store"] == before["store"]
    assert after["marketplace"] == before["marketplace"]


def test_order_outage_leaves_almost_no_orders(plain: Path, tmp_path: Path):
    out = _with(tmp_path, "order-outage:2026-01-03")
    placed = sum(_new_orders(out, "2026-01-03").values())
    usual = sum(_new_orders(plain, "2026-01-03").values())
    assert 1 <= placed <= max(3, 3 * OUTAGE_KEEP * usual)
    assert usual > 300
    # the next day's orders are placed as usual
    assert sum(_new_orders(out, LAST).values()) > 300
    assert load_ledger(out)["incidents"][0]["kind"] == "order-outage"


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def test_every_file_is_modified_at_its_delivery_time(plain: Path):
    for rel in _files(plain):
        day = date.fromisoformat(date_of(Path(rel)))
        assert _mtime(plain / rel) == datetime.combine(day, time(0, 30)) + timedelta(days=1)


def test_late_files_come_with_the_next_delivery(tmp_path: Path):
    out = _with(tmp_path, "late-files:2026-01-02")
    for source in LATE_SOURCES:
        for path in (out / source).glob(f"{source}_2026-01-02*"):
            assert _mtime(path) == datetime(2026, 1, 4, 0, 30)
    assert _mtime(out / "customers" / "customers_2026-01-02.csv") == datetime(2026, 1, 3, 0, 30)
    late = [f for f in load_ledger(out)["files"] if "delivered_at" in f]
    assert {f["source"] for f in late} == set(LATE_SOURCES)
    assert all(f["delivered_at"] == "2026-01-04T00:30:00Z" and not f["held_back"] for f in late)


def test_late_files_of_the_last_day_are_held_back(plain: Path, tmp_path: Path):
    out = _with(tmp_path, f"late-files:{LAST}")
    for source in LATE_SOURCES:
        assert not list((out / source).glob(f"*{LAST}*"))
        held = list((out / "_late" / source).glob(f"*{LAST}*"))
        assert held
        # same content as an on-time delivery
        for path in held:
            assert path.read_bytes() == (plain / source / path.name).read_bytes()
    assert (out / "clickstream" / f"clickstream_{LAST}.jsonl").exists()
    late = [f for f in load_ledger(out)["files"] if f.get("held_back")]
    assert {f["source"] for f in late} == set(LATE_SOURCES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("meltdown:2026-01-02", "KIND one of revenue-drop, order-outage, late-files"),
        ("late-files:2026-13-01", "expected a date as YYYY-MM-DD"),
        ("late-files:2026-01-02:online", "only revenue-drop takes a channel"),
        ("revenue-drop:2026-01-02:fax", "only revenue-drop takes a channel"),
        ("order-outage:2026-02-01", "outside the generated days 2026-01-01 to 2026-01-04"),
    ],
)
def test_bad_incidents_are_one_error_line(tmp_path: Path, value: str, expected: str):
    code, _, err = cli("generate", "--out", tmp_path, "--days", DAYS, "--incident", value)
    assert code == 2
    line = one_error_line(err)
    assert "'--incident'" in line and expected in line
    assert not any(tmp_path.iterdir())


def test_cli_injects_repeated_incidents(tmp_path: Path):
    code, out, _ = cli(
        "generate",
        "--out",
        tmp_path,
        "--days",
        DAYS,
        "--scale",
        "0.02",
        "--incident",
        "order-outage:2026-01-03",
        "--incident",
        f"late-files:{LAST}",
    )
    assert code == 0, out
    kinds = [(i["kind"], i["date"]) for i in load_ledger(tmp_path)["incidents"]]
    assert kinds == [("order-outage", "2026-01-03"), ("late-files", LAST)]

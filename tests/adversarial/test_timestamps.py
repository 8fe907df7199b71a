"""Timestamps with offsets and time zones (issue 16, problem 5): an offset is honoured (UTC),
naive times are wall time in the source's ``timezone:``, DST gaps and overlaps are defined,
and a value that does not parse is quarantined as before."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from tests.conftest import assert_healthy
from tests.retail.conftest import deliver, exported, rows, run_ok

__all__ = ["exported"]  # the fixture, used by name
pytestmark = pytest.mark.slow

#: value, zone → the UTC time it means (None: does not parse)
CASES: list[tuple[str, str, datetime | None]] = [
    ("2026-01-07T10:00:00+05:00", "UTC", datetime(2026, 1, 7, 5)),
    ("2026-01-07T08:00:00Z", "UTC", datetime(2026, 1, 7, 8)),
    ("2026-01-07 10:00:00.5-0330", "UTC", datetime(2026, 1, 7, 13, 30, 0, 500000)),
    ("2026-01-07T10:00:00+05", "UTC", datetime(2026, 1, 7, 5)),
    ("2026-01-07T10:00:00+25:00", "UTC", None),  # no such offset
    ("2026-01-07", "UTC", datetime(2026, 1, 7)),  # a date: midnight, not an offset of -07
    ("2026-01-07 08:00:00", "UTC", datetime(2026, 1, 7, 8)),
    ("not a time", "UTC", None),
    ("2026-07-07 08:00:00", "Europe/London", datetime(2026, 7, 7, 7)),  # BST
    ("2026-01-07 08:00:00", "Europe/London", datetime(2026, 1, 7, 8)),  # GMT
    ("2026-07-07 08:00:00+02:00", "Europe/London", datetime(2026, 7, 7, 6)),  # offset wins
    # gap: 01:30 never happened on 29 March; read with the offset before it (GMT)
    ("2026-03-29 01:30:00", "Europe/London", datetime(2026, 3, 29, 1, 30)),
    ("2026-03-29 02:15:00", "Europe/London", datetime(2026, 3, 29, 1, 15)),
    # overlap: 01:30 happened twice on 25 October; its first occurrence (BST)
    ("2026-10-25 01:30:00", "Europe/London", datetime(2026, 10, 25, 0, 30)),
    ("2026-10-25 02:15:00", "Europe/London", datetime(2026, 10, 25, 2, 15)),
    ("2026-03-08 02:30:00", "America/New_York", datetime(2026, 3, 8, 7, 30)),  # gap
    ("2026-11-01 01:30:00", "America/New_York", datetime(2026, 11, 1, 5, 30)),  # overlap
    ("2026-07-07", "America/New_York", datetime(2026, 7, 7, 4)),
]


def utc_sql(cases: list[tuple[str, str, Any]]) -> str:
    values = ", ".join(f"({i}, '{v}', '{tz}')" for i, (v, tz, _) in enumerate(cases))
    return (
        "SELECT i, lakeshop_utc_timestamp(v, tz) AS t "
        f"FROM (VALUES {values}) AS c(i, v, tz) ORDER BY i"
    )


def test_the_rules_on_duckdb(tmp_path: Path) -> None:
    with DuckDBEngine(Lakehouse(tmp_path)) as engine:
        got = [r["t"] for r in engine.fetch(utc_sql(CASES)).to_pylist()]
    assert got == [want for *_, want in CASES]


CONFIG = """
landing: exports
timezone: Europe/London
sources:
  stores: {path: shops.csv}
  customers: {path: clients.csv, mapping: {customer_id: id}}
  products: {path: articles.csv, mapping: {product_id: id}}
  orders:
    path: "orders_*.csv"
    timezone: Asia/Kolkata
    mapping: {order_id: id, customer_id: client, store_id: shop, order_ts: placed}
  order_items:
    path: "lines_*.csv"
    mapping: {order_id: order, product_id: article, quantity: qty, unit_price: price}
"""
BASE = {
    "shops.csv": "store_id,name,channel,currency\nS1,Web,online,EUR\n",
    "clients.csv": "id,updated_at\nK1,2026-07-01 12:00:00\n",
    "articles.csv": "id\nA\n",
    "orders_1.csv": (
        "id,client,shop,placed,status,updated_at\n"
        "O1,K1,S1,2026-01-07T07:00:00Z,shipped,2026-01-07T08:00:00Z\n"
        "O2,K1,S1,2026-01-07 10:00:00,placed,2026-01-07 10:00:00\n"
        "O3,K1,S1,yesterday at noon,placed,\n"
    ),
    "lines_1.csv": "order,article,qty,price\nO1,A,1,5.00\nO2,A,1,5.00\n",
}


def test_an_older_version_with_an_offset_loses_the_upsert(exported: Any, tmp_path: Path) -> None:
    project: Project = exported(CONFIG, BASE)
    run_ok(project)
    # later in local time, earlier in UTC: 10:00+05:00 is 05:00Z, before 08:00Z
    late = "id,client,shop,placed,status,updated_at\nO1,K1,S1,2026-01-07T07:00:00Z,delivered,"
    deliver(tmp_path / "exports", {"orders_2.csv": late + "2026-01-07T10:00:00+05:00\n"}, 2)
    run_ok(project)
    orders = {r["order_id"]: r for r in rows(project, "SELECT * FROM silver.orders")}
    assert (orders["O1"]["status"], orders["O1"]["updated_at"]) == (
        "shipped",
        datetime(2026, 1, 7, 8),
    )
    # naive times of orders are Asia/Kolkata's (+05:30); of customers, the project's London
    assert orders["O2"]["order_ts"] == datetime(2026, 1, 7, 4, 30)
    customer = rows(project, "SELECT updated_at FROM silver.customers")[0]
    assert customer["updated_at"] == datetime(2026, 7, 1, 11)
    # a time that does not parse is quarantined, as before
    held = rows(project, "SELECT order_id FROM silver.orders__quarantine")
    assert [r["order_id"] for r in held] == ["O3"]
    assert_healthy(project)


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ("timezone: Europe/Londn\n", "timezone"),
        ("sources:\n  orders: {path: 'o.csv', timezone: '+05:00'}\n", "sources.orders.timezone"),
    ],
)
def test_an_unknown_time_zone_names_the_setting(config: str, setting: str, tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text(config)
    with pytest.raises(ConfigError) as err:
        Project.load(tmp_path)
    assert setting in str(err.value) and "IANA time zone" in str(err.value), str(err.value)

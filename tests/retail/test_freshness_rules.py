"""The freshness rules' queries on hand-made tables: a backfill of old history is not stale on
its first load, a source never delivered counts from the first delivery of any source, and a
source that stopped while others go on fires as before."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from lakeshop.retail import alerts
from lakeshop.retail.alerts import Freshness

#: business-time columns the data rule reads, per silver table
BUSINESS = {
    "orders": ("order_ts", "TIMESTAMP"),
    "payments": ("transaction_ts", "TIMESTAMP"),
    "refunds": ("refund_ts", "TIMESTAMP"),
    "returns": ("returned_at", "TIMESTAMP"),
    "clickstream": ("event_ts", "TIMESTAMP"),
    "inventory": ("snapshot_date", "DATE"),
    "fx_rates": ("rate_date", "DATE"),
}


class Lake:
    """``_system.files`` and the silver tables of the freshness rule in one DuckDB."""

    def __init__(self) -> None:
        self.db = duckdb.connect()
        self.db.execute("CREATE SCHEMA _system; CREATE SCHEMA silver")
        self.db.execute("CREATE TABLE _system.files (source VARCHAR, modified_at TIMESTAMP)")
        for table, (column, kind) in BUSINESS.items():
            self.db.execute(f"CREATE TABLE silver.{table} ({column} {kind})")

    def deliver(self, source: str, at: str) -> None:
        self.db.execute("INSERT INTO _system.files VALUES (?, ?)", [source, at])

    def orders(self, *times: str) -> None:
        for t in times:
            self.db.execute("INSERT INTO silver.orders VALUES (?)", [t])

    def __call__(self, sql: str, *, shape: str) -> pa.Table:
        return self.db.sql(sql).to_arrow_table()


@pytest.fixture
def lake() -> Iterator[Lake]:
    made = Lake()
    yield made
    made.db.close()


def fired(lake: Lake, *sources: str) -> dict[str, tuple[float, str]]:
    """What the two freshness rules fire for ``sources`` (default: orders)."""
    rule = Freshness.model_validate({"sources": list(sources or ["orders"])})
    found = [*alerts.data_freshness(lake, rule), *alerts.file_freshness(lake, rule)]
    return {f"{f.rule} {f.scope}": (round(f.value, 1), f.message) for f in found}


def test_a_backfill_of_old_history_is_not_stale_on_its_first_load(lake: Lake) -> None:
    # invoices of December 2011, exported and delivered on 1 March 2026
    lake.orders("2011-12-01 08:26:00", "2011-12-09 12:50:00")
    lake.deliver("orders", "2026-03-01 10:00:00")
    lake.deliver("customers", "2026-03-01 10:05:00")
    assert fired(lake) == {}


def test_a_backfilled_source_that_stops_is_stale_from_its_first_delivery(lake: Lake) -> None:
    lake.orders("2011-12-09 12:50:00")
    lake.deliver("orders", "2026-03-01 10:00:00")
    lake.deliver("payments", "2026-03-01 10:00:00")
    lake.deliver("payments", "2026-03-02 12:00:00")  # payments go on; no new orders
    found = fired(lake)
    assert set(found) == {"data_freshness source=orders", "file_freshness source=orders"}
    value, message = found["data_freshness source=orders"]
    assert value == 26.0
    assert message == (
        "orders: no newer business data for 26.0 h at 2026-03-02 12:00:00 "
        "(latest business timestamp 2011-12-09 12:50:00; SLA 12.0 h)"
    )
    assert found["file_freshness source=orders"][0] == 26.0


def test_a_source_never_delivered_counts_from_the_first_delivery_of_any(lake: Lake) -> None:
    lake.orders("2026-03-01 09:00:00")
    lake.deliver("orders", "2026-03-01 10:00:00")
    # payments not delivered yet, but nothing has waited for them
    assert fired(lake, "orders", "payments") == {}
    lake.orders("2026-03-01 22:00:00")
    lake.deliver("orders", "2026-03-01 23:00:00")
    found = fired(lake, "orders", "payments")
    assert set(found) == {"data_freshness source=payments", "file_freshness source=payments"}
    value, message = found["file_freshness source=payments"]
    assert value == 13.0
    assert message == (
        "payments: no file delivered yet, 13.0 h after the first delivery of any source, "
        "at 2026-03-01 23:00:00 (SLA 12.0 h)"
    )
    assert "none yet" in found["data_freshness source=payments"][1]
    assert all(v < 1000 for v, _ in found.values())


def test_a_source_whose_data_stops_while_others_go_on_fires(lake: Lake) -> None:
    lake.orders("2026-02-25 09:00:00", "2026-03-01 20:00:00")
    lake.deliver("orders", "2026-02-26 02:00:00")
    lake.deliver("orders", "2026-03-02 02:00:00")
    lake.deliver("payments", "2026-03-02 02:00:00")
    assert fired(lake) == {}
    lake.deliver("payments", "2026-03-02 12:00:00")  # orders' export stopped with 1 March
    found = fired(lake)
    assert set(found) == {"data_freshness source=orders"}
    assert found["data_freshness source=orders"][0] == 16.0
    lake.deliver("payments", "2026-03-02 15:00:00")
    assert set(fired(lake)) == {"data_freshness source=orders", "file_freshness source=orders"}

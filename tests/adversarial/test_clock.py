"""Clock jumps: a run whose clock went back a day, and a re-delivery whose modified time is
older than the first delivery's (the sender's clock went back). Batch ids, not times, order
runs; the version with the later modified time wins whatever the order of arrival. Each ends
with ``doctor`` passing and the tables equal to an undisturbed run."""

from __future__ import annotations

import time
from datetime import datetime, tzinfo
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.pipeline import runner
from tests.adversarial.shop import (
    DELIVERED,
    FILES,
    deliver,
    encoded,
    rows,
    run_ok,
    same_as,
    settled,
    shop,
)

pytestmark = pytest.mark.slow

MORE = {
    "orders_2026-01-02.csv": (
        b"order_id,customer_id,store_id,channel,order_ts,currency,status,updated_at\n"
        b"O6,C2,S2,online,2026-01-02 10:00:00,EUR,placed,2026-01-02 10:00:00\n"
    ),
    "items_2026-01-02.csv": b"order_id,line_no,product_id,quantity,unit_price,item_status\nO6,1,P3,2,12.00,placed\n",
}


class Yesterday(datetime):
    """``datetime`` whose ``now`` is a day behind: the host's clock was set back."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Yesterday:
        return cls.fromtimestamp(time.time() - 86_400, tz)


def test_a_run_whose_clock_went_back_a_day_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, calm = shop(tmp_path / "base"), shop(tmp_path / "calm")
    for p in (project, calm):
        run_ok(p)
        deliver(p.landing, MORE, DELIVERED + 86_400)
    monkeypatch.setattr(runner, "datetime", Yesterday)
    run_ok(project)  # started "before" the first run
    monkeypatch.undo()
    run_ok(calm)
    runs = rows(project, "SELECT * FROM _system.runs WHERE status = 'ok' ORDER BY batch_id")
    assert runs[-1]["started_at"] < runs[0]["started_at"]  # the clock did go back
    assert [r["batch_id"] for r in runs] == sorted({r["batch_id"] for r in runs})
    assert rows(project, "SELECT order_id FROM silver.orders WHERE order_id = 'O6'") != []
    same_as(settled(calm), project)
    # a run after the clock came back is incremental as ever: nothing new, nothing changed
    run_ok(project)
    same_as(settled(calm), project)


def test_a_redelivery_older_than_the_first_loses_whatever_the_order(tmp_path: Path) -> None:
    """Stores have no ``updated_at``: a version's time is its file's modified time."""
    renamed = FILES["stores.csv"].replace("S2,Web,", "S2,Web shop,").encode()
    first, older = DELIVERED, DELIVERED - 86_400
    arrived = shop(tmp_path / "arrived")  # the original, then a copy with an older mtime
    run_ok(arrived)
    deliver(arrived.landing, {"stores.csv": renamed}, older)
    run_ok(arrived)
    other = shop(tmp_path / "other", {**encoded(FILES), "stores.csv": renamed})  # the other order
    deliver(other.landing, {"stores.csv": renamed}, older)
    run_ok(other)
    deliver(other.landing, {"stores.csv": FILES["stores.csv"].encode()}, first)
    run_ok(other)
    for p in (arrived, other):
        assert rows(p, "SELECT name FROM silver.stores WHERE store_id = 'S2'") == [{"name": "Web"}]
    same_as(settled(other), arrived)
    log = {
        r["status"]
        for r in api.query(
            arrived, "SELECT status FROM _system.files WHERE path = 'stores.csv'"
        ).to_pylist()
    }
    assert log == {"ingested", "redelivered"}

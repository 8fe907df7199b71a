"""Another company's lakehouse into PostgreSQL (marker ``postgres``): the hand-made
marketplace export (tests/exports/marketplace, BRL, its own column names and statuses),
delivered in two steps. After the full sync and after the incremental one, every synced
table (gold and silver) equals its Delta table row for row, and a BI query in PostgreSQL
(revenue by month and channel, over the business view) equals the same query on gold and
the revenue computed from the export's own files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.app.sync.ship import sync_postgres
from lakeshop.app.sync.tables import shippable
from tests.app.test_sync_postgres import assert_same, by_table, configure_sync
from tests.retail.conftest import deliver, run_ok
from tests.retail.test_marketplace_export import _revenue, by_year

pytestmark = pytest.mark.postgres

#: revenue by month and channel, as a BI tool asks it of the business view ...
BI_QUERY = (
    "SELECT CAST(date_trunc('month', sales_date) AS date) AS month, channel, "
    "sum(gross_revenue) AS revenue, sum(orders) AS orders "
    "FROM bi.sales_daily GROUP BY 1, 2 ORDER BY 1, 2"
)
#: ... and the same question of gold
GOLD_QUERY = (
    "SELECT CAST(date_trunc('month', sales_date) AS DATE) AS month, channel, "
    "sum(total_revenue) AS revenue, sum(total_orders) AS orders "
    "FROM gold.agg_daily_sales GROUP BY 1, 2 ORDER BY 1, 2"
)


def in_postgres(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql.encode()).fetchall())


def on_gold(project: Project, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in api.query(project, sql).to_pylist()]


def assert_synced_equal(project: Project, dsn: str, names: list[str], until: date) -> None:
    """Every table equal, and the BI query equal to gold's and to the export's months before
    ``until`` (those delivered so far)."""
    lakehouse = project.lakehouse()
    for name in names:
        assert_same(lakehouse, dsn, name)
    found = in_postgres(dsn, BI_QUERY)
    assert found and found == on_gold(project, GOLD_QUERY)
    # and both equal the export's own revenue (no returns in it: gross only), month by month
    export = {
        month: v[0]
        for k, v in _revenue("month").items()
        if (month := date.fromisoformat(k)) < until
    }
    assert {r[0]: r[2] for r in found} == export


def test_a_foreign_export_syncs_exactly_full_then_incremental(tmp_path: Path, pg_dsn: str) -> None:
    first, second, config = by_year()
    deliver(tmp_path / "landing", first, delivery=1)
    (tmp_path / "lakeshop.yml").write_text(config)
    configure_sync(tmp_path, schemas=["gold", "silver"])
    project = Project.load(tmp_path)
    run_ok(project)
    names = sorted(
        n for n in shippable(project.lakehouse()) if n.split(".")[0] in ("gold", "silver")
    )
    assert "gold.fact_sales" in names and "silver.order_items" in names

    full = by_table(sync_postgres(project))
    assert sorted(full) == names
    assert {t.mode for t in full.values()} == {"full"}, [t for t in full.values() if t.error]
    assert_synced_equal(project, pg_dsn, names, date(2018, 1, 1))  # 2017's orders

    deliver(tmp_path / "landing", second, delivery=2)
    run_ok(project)
    later = by_table(sync_postgres(project))
    assert not [t for t in later.values() if t.status != "ok"]
    assert later["gold.fact_sales"].mode == "incremental"
    assert later["gold.agg_daily_sales"].mode == "incremental"
    assert_synced_equal(project, pg_dsn, names, date.max)

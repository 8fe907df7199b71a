"""Day after day against a real PostgreSQL (marker ``postgres``): after the first full sync and
after each incremental day of a retailer with defects, late data (orders, returns and
statuses of past days) and SCD2 changes, every synced table equals its Delta table row for
row, and a BI-style query (revenue by month and channel) gives in PostgreSQL what it gives on
gold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.app.sync.ship import sync_postgres
from tests.app.test_sync_postgres import assert_same, dates_of
from tests.conftest import cli, copy_days

pytestmark = pytest.mark.postgres

#: the BI tool's question, in PostgreSQL over the business view and over gold's table
REVENUE_PG = (
    "SELECT date_trunc('month', sales_date)::date AS month, channel, sum(gross_revenue) "
    "FROM bi.sales_daily GROUP BY 1, 2"
)
REVENUE_GOLD = (
    "SELECT date_trunc('month', sales_date)::date AS month, channel, sum(total_revenue) "
    "FROM gold.agg_daily_sales GROUP BY 1, 2"
)


def pg_revenue(dsn: str, sql: str) -> dict[tuple[Any, Any], Decimal]:
    with psycopg.connect(dsn) as conn:
        return {(r[0], r[1]): r[2] for r in conn.execute(sql.encode()).fetchall()}


def lake_revenue(project: Project, sql: str) -> dict[tuple[Any, Any], Decimal]:
    rows = api.query(project, sql).to_pylist()
    return {(r["month"], r["channel"]): r[list(r)[2]] for r in rows}


def hold_back_half(landing: Path, day: str, held: Path) -> Path:
    """Keep back half the order lines of ``day`` (they arrive later, as another delivery)."""
    lines_file = next((landing / "order_items").glob(f"order_items_{day}.csv"))
    header, *rows = lines_file.read_text().splitlines(keepends=True)
    half = len(rows) // 2
    lines_file.write_text("".join([header, *rows[:half]]))
    held.write_text("".join([header, *rows[half:]]))
    return landing / "order_items" / f"order_items_{day}_9.csv"


def test_every_day_postgres_equals_delta(retailer: Path, tmp_path: Path, pg_dsn: str) -> None:
    days = dates_of(retailer)
    assert len(days) >= 4
    directory = tmp_path / "p"
    write_demo_config(directory)
    late_days_replaced = 0
    scd2_versions_replaced = 0
    held = tmp_path / "late.csv"
    late_to: Path | None = None
    for i, day in enumerate(days):
        copy_days(retailer, directory / "landing", [day])
        if i == 1:  # late data: half of this day's lines come with the next day's files
            late_to = hold_back_half(directory / "landing", day, held)
        if i == 2 and late_to is not None:
            late_to.write_bytes(held.read_bytes())
        project = Project.load(directory)
        api.run(project)
        result = sync_postgres(project)
        assert not result.failed, [(t.table, t.error) for t in result.failed]
        done = {t.table: t for t in result.tables}
        assert {t.mode for t in result.tables} <= (
            {"full"} if i == 0 else {"incremental", "unchanged"}
        ), {t.table: (t.mode, t.note) for t in result.tables}
        lakehouse = project.lakehouse()
        for name in done:
            assert_same(lakehouse, pg_dsn, name)
        if i:
            late_days_replaced += done["gold.agg_daily_sales"].rows_deleted
            scd2_versions_replaced += done["gold.dim_customer"].rows_deleted
        # the BI question: the same figures in PostgreSQL as on gold
        expected = lake_revenue(project, REVENUE_GOLD)
        assert expected and pg_revenue(pg_dsn, REVENUE_PG) == expected
    # the days sent late data (past days' rows replaced) and SCD2 changes (versions closed)
    assert late_days_replaced > 0
    assert scd2_versions_replaced > 0
    code, out, _ = cli("--project", directory, "sync", "postgres", "--verify")
    assert code == 0, out

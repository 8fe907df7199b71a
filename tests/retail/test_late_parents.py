"""Facts whose parent arrives later are held, not lost, and are right once it arrives.

With the default orphan settings (dimension parents ``inferred`` after ``hold_days: 2``): the
generator's late customers arrive a day after their orders, within the window, so the orders
wait for them and never meet an inferred member."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from tests.conftest import assert_healthy, copy_days, default_orphans


def _run(project: Project) -> None:
    summary = api.run(project).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    assert_healthy(project)


# three runs over the generator's files; test_orphans holds and releases in the fast tier
@pytest.mark.slow
def test_orders_of_a_customer_delivered_late_are_held_then_released(
    clean_retailer: Path, tmp_path: Path
):
    late = tmp_path / "late"
    copy_days(clean_retailer, late / "landing", ["2026-01-01", "2026-01-02"])
    held_back = late / "held" / "customers_2026-01-01.csv"
    held_back.parent.mkdir()
    shutil.move(late / "landing/customers/customers_2026-01-01.csv", held_back)
    write_demo_config(late)
    default_orphans(late)
    project = Project.load(late)
    _run(project)

    waiting = (
        api.query(
            project,
            "SELECT DISTINCT customer_id FROM silver.orders__quarantine "
            "WHERE _retry AND list_contains(_failed_expectations, 'customer_id_known')",
        )
        .column(0)
        .to_pylist()
    )
    assert waiting, "orders of customers not delivered yet should be waited for"
    assert not api.query(
        project, f"SELECT * FROM silver.orders WHERE customer_id = '{waiting[0]}'"
    ).num_rows

    shutil.move(held_back, late / "landing/customers/customers_2026-01-01.csv")
    _run(project)
    assert not api.query(project, "SELECT * FROM silver.orders__quarantine WHERE _retry").num_rows
    unknown = (
        api.query(
            project,
            f"SELECT count(*) FROM gold.fact_sales WHERE customer_id = '{waiting[0]}' AND customer_sk = '-1'",
        )
        .column(0)[0]
        .as_py()
    )
    assert unknown == 0
    assert not api.query(project, "SELECT * FROM gold.dim_customer WHERE is_inferred").num_rows

    # the same files delivered in order give the same silver and gold
    on_time = tmp_path / "on_time"
    copy_days(clean_retailer, on_time / "landing", ["2026-01-01", "2026-01-02"])
    write_demo_config(on_time)
    default_orphans(on_time)
    _run(Project.load(on_time))
    for table in ("silver.orders", "silver.order_items", "gold.fact_sales", "gold.agg_daily_sales"):
        sql = f"SELECT * EXCLUDE (_batch_id) FROM {table} ORDER BY ALL"
        if table.startswith("silver"):
            sql = f"SELECT * EXCLUDE (_batch_id, _row_hash, _source_file, _source_row) FROM {table} ORDER BY ALL"
        assert api.query(project, sql).equals(api.query(Project.load(on_time), sql)), table

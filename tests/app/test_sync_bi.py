"""The shipped schema as a BI tool sees it (marker ``postgres``): primary keys, indexes on keys
and dates, NOT VALID foreign keys from facts to dimensions, comments from docs/gold.md,
business views in a configurable schema; ``lakeshop sync status``; the sync after a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.app.sync.comments import gold_comments
from lakeshop.app.sync.ship import sync_postgres
from lakeshop.pipeline import system
from tests import pgserver
from tests.app.test_sync_postgres import (
    assert_same,
    configure_sync,
    project_with_days,
    two_days,
)
from tests.conftest import cli, copy_days

pytestmark = pytest.mark.postgres

__all__ = ["two_days"]  # the fixture, shared with test_sync_postgres


def fetch(dsn: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql.encode(), params).fetchall())


def constraints(dsn: str, schema: str) -> dict[str, tuple[str, str, bool]]:
    """name → (table, definition, validated) of the schema's constraints."""
    rows = fetch(
        dsn,
        "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid), convalidated "
        "FROM pg_constraint WHERE connamespace = to_regnamespace(%s)",
        [schema],
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def indexed_columns(dsn: str, dest: str) -> set[str]:
    rows = fetch(
        dsn,
        "SELECT a.attname FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(%s)",
        [dest],
    )
    return {r[0] for r in rows}


def test_keys_indexes_foreign_keys_comments_and_views(
    two_days: tuple[Project, list[str]], clean_retailer: Path, pg_dsn: str
) -> None:
    project, days = two_days
    result = sync_postgres(project)
    assert not result.failed, [(t.table, t.error) for t in result.failed]
    found = constraints(pg_dsn, "gold")
    assert found["fact_sales_pkey"][1] == "PRIMARY KEY (order_id, line_no)"
    assert found["dim_customer_pkey"][1] == "PRIMARY KEY (customer_sk)"  # SCD2: the version
    fk = found["lakeshop_fk_fact_sales__customer_sk"]
    assert fk[0] == "gold.fact_sales" and not fk[2]  # NOT VALID: never checked
    assert "REFERENCES gold.dim_customer(customer_sk)" in fk[1]
    assert "lakeshop_fk_fact_inventory__product_sk" in found
    assert result.foreign_keys == sum(1 for n in found if n.startswith("lakeshop_fk_"))
    # keys and dates indexed
    assert {"order_id", "order_date"} <= indexed_columns(pg_dsn, "gold.fact_sales")
    assert {"sales_date"} <= indexed_columns(pg_dsn, "gold.agg_daily_sales")
    # comments from docs/gold.md
    table_comment, column_comment = fetch(
        pg_dsn,
        "SELECT obj_description('gold.agg_daily_sales'::regclass, 'pg_class'), "
        "col_description('gold.agg_daily_sales'::regclass, "
        "(SELECT attnum FROM pg_attribute WHERE attrelid = 'gold.agg_daily_sales'::regclass "
        "AND attname = 'total_revenue')::int)",
    )[0]
    assert "sales_date × channel" in table_comment and "docs/gold.md" in table_comment
    assert column_comment == gold_comments()["agg_daily_sales"].columns["total_revenue"]
    assert column_comment.startswith("= Σ sales_total_base of revenue lines")
    # the business views answer as gold does
    assert set(result.views) >= {"sales_daily", "sales_lines", "customers", "calendar"}
    by_view = fetch(
        pg_dsn,
        "SELECT sales_date, channel, gross_revenue, orders FROM bi.sales_daily ORDER BY 1, 2",
    )
    lakehouse = project.lakehouse()
    expected = sorted(
        (r["sales_date"], r["channel"], r["total_revenue"], r["total_orders"])
        for r in lakehouse.read("gold.agg_daily_sales").to_pylist()
    )
    assert by_view == expected
    lines = fetch(pg_dsn, "SELECT count(*), count(product_name) FROM bi.sales_lines")[0]
    assert lines[0] == lakehouse.read("gold.fact_sales").num_rows and lines[1] > 0
    current = fetch(pg_dsn, "SELECT count(*) FROM bi.customers")[0][0]
    assert current == sum(r["is_current"] for r in lakehouse.read("gold.dim_customer").to_pylist())

    # the next day: an incremental sync keeps keys, foreign keys and views in place
    project = project_with_days(project.directory, clean_retailer, [days[2]])
    again = sync_postgres(project)
    assert not again.failed
    assert "incremental" in {t.mode for t in again.tables}
    assert constraints(pg_dsn, "gold").keys() == found.keys()
    for name in ("gold.fact_sales", "gold.dim_customer", "gold.agg_daily_sales"):
        assert_same(project.lakehouse(), pg_dsn, name)
    assert fetch(pg_dsn, "SELECT count(*) FROM bi.sales_lines")[0][0] == (
        project.lakehouse().read("gold.fact_sales").num_rows
    )
    # --full rebuilds nothing that a BI tool relies on, nor does a sync of one dimension
    rebuilt = sync_postgres(project, full=True)
    assert not rebuilt.failed
    assert constraints(pg_dsn, "gold").keys() == found.keys()
    one = sync_postgres(project, select=["gold.dim_store"], full=True)
    assert not one.failed and [t.table for t in one.tables] == ["gold.dim_store"]
    assert constraints(pg_dsn, "gold").keys() == found.keys()


def test_views_go_to_the_configured_schema_or_nowhere(
    two_days: tuple[Project, list[str]], pg_dsn: str
) -> None:
    project, _ = two_days
    configure_sync(project.directory, views_schema="reporting", schema_map={"gold": "mart"})
    project = Project.load(project.directory)
    result = sync_postgres(project)
    assert not result.failed and result.views_schema == "reporting"
    revenue = fetch(pg_dsn, "SELECT sum(gross_revenue) FROM reporting.sales_daily")[0][0]
    assert revenue == fetch(pg_dsn, "SELECT sum(total_revenue) FROM mart.agg_daily_sales")[0][0]
    assert "lakeshop_fk_fact_sales__store_sk" in constraints(pg_dsn, "mart")
    configure_sync(project.directory, views_schema=None, schema_map={"gold": "plain"})
    result = sync_postgres(Project.load(project.directory))
    assert not result.failed and result.views == []
    assert fetch(pg_dsn, "SELECT count(*) FROM pg_views WHERE schemaname = 'bi'")[0][0] == 0


def test_sync_status_says_what_postgres_holds(
    two_days: tuple[Project, list[str]], clean_retailer: Path, pg_dsn: str
) -> None:
    project, days = two_days
    code, out, err = cli("--project", project.directory, "sync", "status", "--format", "json")
    assert code == 0, out + err
    before = {r["table"]: r for r in json.loads(out)}
    assert before["gold.fact_sales"]["state"] == "never shipped"
    assert before["gold.fact_sales"]["shipped_version"] is None
    assert not sync_postgres(project).failed
    project = project_with_days(project.directory, clean_retailer, [days[2]])
    lakehouse = project.lakehouse()
    assert not sync_postgres(project, select=["gold.dim_store"]).failed
    code, out, err = cli("--project", project.directory, "sync", "status", "--format", "json")
    assert code == 0, out + err
    rows = {r["table"]: r for r in json.loads(out)}
    sales = rows["gold.fact_sales"]
    assert sales["state"] == "behind"
    assert sales["latest_version"] == lakehouse.version("gold.fact_sales")
    assert sales["shipped_version"] < sales["latest_version"]
    store = rows["gold.dim_store"]
    assert (
        store["state"] == "current" and store["rows"] == lakehouse.read("gold.dim_store").num_rows
    )
    assert store["seconds"] >= 0 and store["synced_at"]
    code, out, _ = cli("--project", project.directory, "sync", "status")
    assert code == 0 and "gold.fact_sales" in out and "behind" in out


def test_a_run_syncs_after_itself_and_alerts_when_the_sync_fails(
    two_days: tuple[Project, list[str]],
    clean_retailer: Path,
    pg_dsn: str,
    monkeypatch: Any,
) -> None:
    project, days = two_days
    config_file = project.directory / "lakeshop.yml"
    config = yaml.safe_load(config_file.read_text())
    config["sync"] = {"after_run": True}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    project = Project.load(project.directory)
    assert project.config.sync.after_run
    result = api.run(project)
    assert result.sync is not None and result.sync.ok, result.sync and result.sync.error
    lakehouse = project.lakehouse()
    assert_same(lakehouse, pg_dsn, "gold.agg_daily_sales")
    events = system.read(lakehouse, system.EVENTS).to_pylist()
    step = [e for e in events if e["table_name"] == "sync.postgres"]
    assert len(step) == 1 and step[0]["run_id"] == result.summary.run_id
    assert step[0]["status"] == "ok" and step[0]["kind"] == "sync"
    code, out, _ = cli("--project", project.directory, "doctor")
    assert code == 0, out  # the step keeps the events' accounting identity

    # the next run cannot reach PostgreSQL: the run is fine, the step failed, an alert fired
    copy_days(clean_retailer, project.directory / "landing", [days[2]])
    monkeypatch.setenv("LAKESHOP_POSTGRES_DSN", pg_dsn.replace(pgserver.PASSWORD, "not-it-42"))
    code, out, err = cli("--project", project.directory, "run")
    assert code == 0, out + err
    assert "sync postgres failed" in out and "cannot connect to PostgreSQL" in out
    assert "not-it-42" not in out + err and pgserver.PASSWORD not in out + err
    alerts = system.read(lakehouse, system.ALERTS).to_pylist()
    fired = [a for a in alerts if a["rule"] == "sync_failed"]
    assert len(fired) == 1 and fired[0]["severity"] == "critical"
    assert "not-it-42" not in fired[0]["message"]
    failed = [
        e
        for e in system.read(lakehouse, system.EVENTS).to_pylist()
        if e["table_name"] == "sync.postgres" and e["status"] == "failed"
    ]
    assert len(failed) == 1 and "cannot connect" in failed[0]["error"]
    # the next sync catches up
    monkeypatch.setenv("LAKESHOP_POSTGRES_DSN", pg_dsn)
    assert not sync_postgres(Project.load(project.directory)).failed
    assert_same(lakehouse, pg_dsn, "gold.fact_sales")

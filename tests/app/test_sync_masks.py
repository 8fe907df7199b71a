"""``sync.postgres.role``/``user`` against a real PostgreSQL (marker ``postgres``): what
reaches the database is what the role reads through ``lakeshop serve`` (masks applied, rows
filtered, only its tables), checked against the raw Delta tables and the mask's definition,
and no raw value of a masked column or a filtered row is ever in PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from lakeshop.app.access.govern import GovernedSession
from lakeshop.app.access.load import load_policy
from lakeshop.app.project import Project
from lakeshop.app.sync.ship import sync_postgres
from lakeshop.core.sqltext import ident, table
from lakeshop.engines.snapshots import snapshot
from tests.app.test_sync_postgres import (
    by_table,
    configure_sync,
    dates_of,
    pg_table_rows,
    project_with_days,
)
from tests.conftest import cli, one_error_line

pytestmark = pytest.mark.postgres

PG = "postgres"
SHIPPED = ["gold.dim_customer", "gold.fact_sales", "gold.agg_daily_sales"]


def partial(email: str) -> str:
    """The ``partial`` mask's definition (keep_first 1): j***@example.com."""
    local, domain = email.split("@", 1)
    return f"{local[0]}***@{domain}" if len(email) > 1 else "***"


def write_policy(directory: Path, store_id: str) -> None:
    (directory / "access.yml").write_text(
        yaml.safe_dump(
            {
                "masks": {
                    "email": {"columns": ["*.*.email"], "kind": "partial", "keep_first": 1},
                    "names": {"columns": ["*.*.first_name", "*.*.last_name"], "kind": "redact"},
                },
                "roles": {
                    "bi": {"grants": ["gold.dim_customer", "gold.agg_daily_sales"]},
                    "store_bi": {
                        "grants": SHIPPED,
                        "row_filters": {"gold.fact_sales": "store_id = $store_id"},
                        "max_rows": 1_000_000,
                    },
                },
                "users": {"shop": {"role": "store_bi", "attributes": {"store_id": store_id}}},
            },
            sort_keys=False,
        )
    )


def raw_values(project: Project, name: str, column: str) -> set[str]:
    data = snapshot(project.lakehouse(), name).dataset().to_table(columns=[column])
    return {v for v in data.column(0).to_pylist() if v is not None}


def pg_text_values(dsn: str) -> set[str]:
    """Every text value of every table and view in PostgreSQL's gold and bi schemas."""
    found: set[str] = set()
    with psycopg.connect(dsn) as conn:
        cols = conn.execute(
            b"SELECT table_schema, table_name, column_name FROM information_schema.columns "
            b"WHERE table_schema IN ('gold', 'bi') AND data_type = 'text'"
        ).fetchall()
        for schema, name, column in cols:
            sql = f"SELECT DISTINCT {ident(column, PG)} FROM {table(schema, name, dialect=PG)}"
            found |= {r[0] for r in conn.execute(sql.encode()) if r[0] is not None}
    return found


def pg_tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            b"SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname = 'gold'"
        ).fetchall()
    return {r[0] for r in rows}


def governed_rows(project: Project, user: str, name: str, names: list[str]) -> list[Any]:
    """What ``lakeshop serve`` shows ``user`` of the table (the governed reader)."""
    policy = load_policy(project.directory)
    sql = f"SELECT {', '.join(ident(n) for n in names)} FROM {name}"
    result = GovernedSession(project, policy.principal(user), policy).query(sql)
    return sorted((tuple(r.values()) for r in result.to_pylist()), key=repr)


@pytest.fixture
def project(clean_retailer: Path, tmp_path: Path) -> tuple[Project, list[str], str]:
    """Two days run, a policy whose user sees one store (the busiest) of fact_sales."""
    days = dates_of(clean_retailer)
    built = project_with_days(tmp_path / "p", clean_retailer, days[:2])
    stores = raw_values(built, "gold.fact_sales", "store_id")
    data = snapshot(built.lakehouse(), "gold.fact_sales").dataset().to_table(columns=["store_id"])
    busiest = Counter(data.column(0).to_pylist()).most_common(1)[0][0]
    assert len(stores) > 1
    write_policy(built.directory, busiest)
    return built, days, busiest


def test_a_user_ships_masked_filtered_rows_and_no_raw_value(
    project: tuple[Project, list[str], str], clean_retailer: Path, pg_dsn: str
) -> None:
    built, days, store = project
    configure_sync(built.directory, user="shop", tables=[])
    built = Project.load(built.directory)
    emails = raw_values(built, "gold.dim_customer", "email")
    last_names = raw_values(built, "gold.dim_customer", "last_name")
    assert emails and last_names

    first = by_table(sync_postgres(built))
    assert {n for n, t in first.items() if t.status == "ok"} == set(SHIPPED)
    skipped = {n: t for n, t in first.items() if t.status == "skipped"}
    assert "gold.fact_orders" in skipped
    assert "role store_bi may not read gold.fact_orders" in skipped["gold.fact_orders"].note
    # only the granted tables are in PostgreSQL
    assert pg_tables(pg_dsn) == set(SHIPPED)

    # the masked e-mail arrives masked, by the mask's definition, customer by customer
    lake = snapshot(built.lakehouse(), "gold.dim_customer").dataset().to_table()
    raw = dict(zip(lake["customer_sk"].to_pylist(), lake["email"].to_pylist(), strict=True))
    shipped = dict(pg_table_rows(pg_dsn, "gold.dim_customer", ["customer_sk", "email"]))
    assert shipped.keys() == raw.keys()
    assert shipped == {k: partial(v) if v is not None else None for k, v in raw.items()}

    # the row filter: only the user's store, every one of its rows
    names = snapshot(built.lakehouse(), "gold.fact_sales").schema.names
    facts = pg_table_rows(pg_dsn, "gold.fact_sales", names)
    store_at = names.index("store_id")
    assert facts and {r[store_at] for r in facts} == {store}
    lake_facts = snapshot(built.lakehouse(), "gold.fact_sales").dataset().to_table()
    assert len(facts) == lake_facts["store_id"].to_pylist().count(store) < lake_facts.num_rows
    # row for row what the server shows the same user
    assert sorted(facts, key=repr) == governed_rows(built, "shop", "gold.fact_sales", names)

    # raw values never reached PostgreSQL: no e-mail or last name anywhere in gold or bi
    text = pg_text_values(pg_dsn)
    assert not text & emails, sorted(text & emails)[:5]
    assert not text & last_names, sorted(text & last_names)[:5]

    # a day later: incremental, still masked and filtered, verified
    built = project_with_days(built.directory, clean_retailer, [days[2]])
    later = by_table(sync_postgres(built))
    assert later["gold.fact_sales"].mode == "incremental", later["gold.fact_sales"]
    assert not [t for t in later.values() if t.status == "failed"]
    facts = pg_table_rows(pg_dsn, "gold.fact_sales", names)
    assert sorted(facts, key=repr) == governed_rows(built, "shop", "gold.fact_sales", names)
    assert not pg_text_values(pg_dsn) & raw_values(built, "gold.dim_customer", "email")
    code, out, _ = cli("--project", built.directory, "sync", "postgres", "--verify")
    assert code == 0 and "3 tables verified" in out and "not shipped" in out, out


def test_a_role_named_later_replaces_raw_rows_and_drops_tables_it_may_not_read(
    project: tuple[Project, list[str], str], pg_dsn: str
) -> None:
    built, _, _ = project
    select = ["--select", "gold.dim_customer", "--select", "gold.fact_sales"]
    code, out, _ = cli("--project", built.directory, "sync", "postgres", *select)
    assert code == 0, out
    emails = raw_values(built, "gold.dim_customer", "email")
    assert pg_text_values(pg_dsn) & emails  # shipped unmasked: no role yet

    code, out, _ = cli("--project", built.directory, "sync", "postgres", "--role", "bi", *select)
    assert code == 0, out
    assert "the access policy's masks or filters changed" in out
    assert "gold.fact_sales, shipped by an earlier sync, dropped" in out
    assert pg_tables(pg_dsn) == {"gold.dim_customer"}
    assert not pg_text_values(pg_dsn) & emails
    code, out, _ = cli("--project", built.directory, "sync", "postgres", "--role", "bi", *select)
    assert code == 0 and "unchanged" in out, out


def test_a_role_the_policy_lacks_or_a_filter_without_its_attribute_is_named(
    project: tuple[Project, list[str], str], pg_dsn: str
) -> None:
    built, _, _ = project
    code, _, err = cli("--project", built.directory, "sync", "postgres", "--role", "nobody")
    line = one_error_line(err)
    assert code == 2 and "sync.postgres.role" in line and "known: bi, store_bi" in line
    code, out, _ = cli(
        "--project", built.directory, "sync", "postgres", "--role", "store_bi", "--select", "gold"
    )
    assert code == 1 and "store_id" in out and "sync.postgres.user" in out, out
    assert "gold.fact_sales" not in pg_tables(pg_dsn)  # nothing unfiltered shipped

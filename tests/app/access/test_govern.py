"""GovernedSession on the demo lakehouse: what each role reads through every query shape.

Expected values come from the unmasked table read by the ungoverned reader (``api.query``)
and the mask's definition, never from the governed path itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.access.default import DEFAULT
from lakeshop.app.access.govern import TRUNCATED, AccessDenied, GovernedSession, QueryTimeout
from lakeshop.app.access.load import load_policy
from lakeshop.app.access.policy import Policy, Principal
from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError, QueryRefused, TableNotFound
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind, Table


@pytest.fixture(scope="module")
def demo(prebuilt: Any) -> Project:
    return Project.load(prebuilt.demo().directory)


@pytest.fixture(scope="module")
def policy(demo: Project) -> Policy:
    return load_policy(demo.directory)


def session(demo: Project, policy: Policy, user: str) -> GovernedSession:
    return GovernedSession(demo, policy.principal(user), policy)


def emails(demo: Project) -> set[str]:
    return set(
        api.query(demo, "SELECT email FROM gold.dim_customer WHERE email IS NOT NULL")[
            "email"
        ].to_pylist()
    )


def partial(email: str) -> str:
    local, domain = email.split("@", 1)
    return f"{local[0]}***@{domain}"


SHAPES = {
    "select-star": "SELECT * FROM gold.dim_customer",
    "join": "SELECT c.email, c.first_name, f.order_id FROM gold.fact_sales f JOIN gold.dim_customer c ON c.customer_sk = f.customer_sk",
    "cte": "WITH c AS (SELECT * FROM gold.dim_customer) SELECT email, first_name FROM c",
    "subquery": "SELECT * FROM (SELECT email, first_name FROM gold.dim_customer) AS s WHERE email IN (SELECT email FROM gold.dim_customer)",
    "union": "SELECT email, first_name FROM gold.dim_customer UNION ALL SELECT email, last_name FROM gold.dim_customer",
    "lateral": "SELECT x.e AS email, '***' AS first_name FROM gold.fact_orders o, LATERAL (SELECT email AS e FROM gold.dim_customer c WHERE c.customer_sk = o.customer_sk) x",
    "scalar": "SELECT (SELECT max(email) FROM gold.dim_customer) AS email, '***' AS first_name",
    "qualified": "SELECT gold.dim_customer.email, dim_customer.first_name FROM gold.dim_customer",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_masked_columns_stay_masked_whatever_the_query_shape(
    demo: Project, policy: Policy, shape: str
) -> None:
    real = emails(demo)
    table = session(demo, policy, "ana").query(SHAPES[shape])
    seen = {e for e in table["email"].to_pylist() if e is not None}
    assert seen, "the query returned e-mails"
    assert not seen & real, "a real e-mail came through"
    assert seen <= {partial(e) for e in real}
    assert set(table["first_name"].to_pylist()) <= {"***", None}


def test_admin_sees_what_is_stored(demo: Project, policy: Policy) -> None:
    table = session(demo, policy, "ada").query("SELECT email FROM gold.dim_customer")
    assert {e for e in table["email"].to_pylist() if e} == emails(demo)


def test_each_mask_kind(demo: Project, policy: Policy) -> None:
    sql = "SELECT customer_sk, email, phone, first_name, postal_code, birth_date FROM gold.dim_customer ORDER BY customer_sk"
    real = api.query(demo, sql).to_pylist()
    seen = session(demo, policy, "fiona").query(sql).to_pylist()
    assert len(seen) == len(real)
    for r, s in zip(real, seen, strict=True):
        assert s["customer_sk"] == r["customer_sk"]
        assert s["email"] == (partial(r["email"]) if r["email"] else None)
        phone = r["phone"]
        assert s["phone"] == (
            None if phone is None else "***" if len(phone) <= 5 else f"{phone[0]}***{phone[-4:]}"
        )
        assert s["first_name"] == r["first_name"]  # finance lifts the names mask
        assert s["postal_code"] == (
            None if r["postal_code"] is None else f"{str(r['postal_code'])[:2]}***"
        )
        assert s["birth_date"] == (
            None if r["birth_date"] is None else r["birth_date"].replace(month=1, day=1)
        )


def test_hash_mask_keeps_equal_values_equal(demo: Project, policy: Policy) -> None:
    config = policy.config.model_copy(deep=True)
    config.masks["email"] = config.masks["email"].model_copy(update={"kind": "hash"})
    hashed = Policy(config, policy.file)
    sql = "SELECT count(DISTINCT email) AS n, max(length(email)) AS l FROM gold.dim_customer"
    real = api.query(demo, sql).to_pylist()[0]
    seen = session(demo, hashed, "ana").query(sql).to_pylist()[0]
    assert seen["n"] == real["n"] and seen["l"] == 64  # one SHA-256 per distinct value


def test_row_filter_applies_through_joins_ctes_and_aggregates(
    demo: Project, policy: Policy
) -> None:
    sam = session(demo, policy, "sam")
    expected = (
        api.query(demo, "SELECT count(*) FROM gold.fact_sales WHERE store_id = 'S001'")
        .column(0)[0]
        .as_py()
    )
    assert (
        0 < expected < api.query(demo, "SELECT count(*) FROM gold.fact_sales").column(0)[0].as_py()
    )
    for sql in (
        "SELECT count(*) FROM gold.fact_sales",
        "WITH s AS (SELECT * FROM gold.fact_sales) SELECT count(*) FROM s",
        "SELECT count(*) FROM gold.fact_sales f JOIN gold.dim_store d USING (store_sk)",
        "SELECT count(*) FROM (SELECT * FROM gold.fact_sales WHERE store_id <> 'S001' OR TRUE)",
    ):
        assert sam.query(sql).column(0)[0].as_py() == expected, sql
    stores = sam.query("SELECT DISTINCT store_id FROM gold.daily_revenue")["store_id"].to_pylist()
    assert stores == ["S001"]


def test_denied_and_unknown_tables(demo: Project, policy: Policy) -> None:
    ana = session(demo, policy, "ana")
    for sql in (
        "SELECT * FROM silver.customers",
        "SELECT * FROM gold.fact_sales WHERE customer_id IN (SELECT customer_id FROM bronze.customers)",
        "WITH x AS (SELECT * FROM _system.runs) SELECT * FROM x",
        "SELECT * FROM gold.fact_sales JOIN _system.access ON TRUE",
    ):
        with pytest.raises(AccessDenied, match="role analyst"):
            ana.query(sql)
    with pytest.raises(TableNotFound) as caught:
        ana.query("SELECT * FROM gold.no_such_table")
    assert "silver." not in str(caught.value)  # names only tables the role may see


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT getenv('HOME')",
        "SELECT * FROM glob('/*')",
        "ATTACH '/tmp/x.db'",
        "COPY gold.dim_customer TO '/tmp/x.csv'",
        "SELECT 1; SELECT 2",
        "SELECT * FROM raw_0123456789abcdef.gold__dim_customer",
        "SELECT * FROM duckdb_views()",
        "SELECT * FROM information_schema.tables",
    ],
)
def test_sandbox_escapes_are_refused(demo: Project, policy: Policy, sql: str) -> None:
    with pytest.raises((QueryRefused, TableNotFound)):
        session(demo, policy, "ada").query(sql)


def test_row_cap_and_timeout(demo: Project, policy: Policy) -> None:
    config = policy.config.model_copy(deep=True)
    config.roles["analyst"] = config.roles["analyst"].model_copy(
        update={"max_rows": 5, "timeout_seconds": 0.5}
    )
    tight = Policy(config, policy.file)
    ana = session(demo, tight, "ana")
    cut = ana.query("SELECT * FROM gold.fact_sales")
    assert cut.num_rows == 5 and cut.schema.metadata[TRUNCATED] == b"true"
    whole = ana.query("SELECT * FROM gold.fact_sales LIMIT 5")
    assert TRUNCATED not in (whole.schema.metadata or {})
    with pytest.raises(QueryTimeout, match=r"0\.5 s"):
        ana.query(
            "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range * b.range = -1"
        )


def test_a_declared_view_is_governed_over_governed_tables(demo: Project, policy: Policy) -> None:
    view = Table(
        "gold.customer_contacts",
        Kind.VIEW,
        sql="SELECT c.customer_id, c.email, s.store_id FROM gold.dim_customer c JOIN gold.fact_sales s USING (customer_sk)",
    )
    graph = Graph.build([*demo.graph.tables.values(), view])
    with_view = dataclasses.replace(demo, graph=graph)
    ana = GovernedSession(with_view, policy.principal("ana"), policy)
    seen = ana.query("SELECT * FROM gold.customer_contacts")
    assert seen.num_rows > 0 and not set(seen["email"].to_pylist()) & emails(demo)
    config = policy.config.model_copy(deep=True)
    manager = config.roles["store_manager"]
    grants = [*manager.grants, "gold.customer_contacts"]
    config.roles["store_manager"] = manager.model_copy(update={"grants": grants})
    granted = Policy(config, policy.file)
    sam = GovernedSession(with_view, granted.principal("sam"), granted)
    stores = sam.query("SELECT DISTINCT store_id FROM gold.customer_contacts")
    assert stores["store_id"].to_pylist() == ["S001"]  # fact_sales' filter, under the view


def test_explain_says_what_and_why(demo: Project, policy: Policy) -> None:
    lines = (
        session(demo, policy, "sam")
        .plan("SELECT * FROM gold.fact_sales JOIN gold.dim_customer USING (customer_sk)")
        .explain()
    )
    text = "\n".join(lines)
    assert "role store_manager" in lines[0]
    assert "gold.fact_sales: granted by 'gold.fact_sales'" in text
    assert "gold.dim_customer: granted by 'gold.dim_*'" in text
    assert "rows: only where store_id = 'S001'" in text
    assert "column email: masked (email: partial)" in text


def test_a_user_missing_an_attribute_sees_no_rows_but_an_error(
    demo: Project, policy: Policy
) -> None:
    stranger = Principal("x", "store_manager", {})
    with pytest.raises(AccessDenied, match="store_id"):
        GovernedSession(demo, stranger, policy).query("SELECT count(*) FROM gold.fact_sales")


def test_policy_file_of_the_demo_is_the_example(demo: Project) -> None:
    assert yaml.safe_load((Path(demo.directory) / "access.yml").read_text()) == yaml.safe_load(
        DEFAULT.read_text()
    )


def test_a_row_filter_over_a_missing_column_names_its_setting(
    demo: Project, policy: Policy
) -> None:
    config = policy.config.model_copy(deep=True)
    role = config.roles["store_manager"]
    config.roles["store_manager"] = role.model_copy(
        update={"grants": ["gold.*"], "row_filters": {"gold.fact_*": "store_id = $store_id"}}
    )
    loose = Policy(config, policy.file)
    sam = GovernedSession(demo, loose.principal("sam"), loose)
    assert sam.query("SELECT DISTINCT store_id FROM gold.fact_sales")["store_id"].to_pylist() == [
        "S001"
    ]
    with pytest.raises(
        ConfigError,
        match=r"roles\.store_manager\.row_filters\.gold\.fact_\*.*gold\.fact_payments, which has no store_id",
    ):
        sam.query("SELECT count(*) FROM gold.fact_payments")


def test_the_store_manager_reads_no_table_mixing_stores(demo: Project, policy: Policy) -> None:
    sam = session(demo, policy, "sam")
    for table in ("gold.fact_payments", "gold.agg_daily_sales", "gold.best_sellers_monthly"):
        with pytest.raises(AccessDenied):
            sam.query(f"SELECT count(*) FROM {table}")
    for table in sam.visible_tables():
        if not table.startswith("gold.dim_"):
            assert sam.role.filters_for(table), table

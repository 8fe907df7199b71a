"""Referential integrity of the star: every fact row joins exactly one version of each dimension."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config

#: fact → (surrogate key column, dimension, business key, event time column or None)
LINKS: dict[str, list[tuple[str, str, str, str | None]]] = {
    "gold.fact_sales": [
        ("customer_sk", "gold.dim_customer", "customer_id", "order_ts"),
        ("product_sk", "gold.dim_product", "product_id", "order_ts"),
        ("store_sk", "gold.dim_store", "store_id", None),
    ],
    "gold.fact_orders": [
        ("customer_sk", "gold.dim_customer", "customer_id", "order_ts"),
        ("store_sk", "gold.dim_store", "store_id", None),
    ],
    "gold.fact_payments": [("customer_sk", "gold.dim_customer", "customer_id", "transaction_ts")],
    "gold.fact_returns": [
        ("customer_sk", "gold.dim_customer", "customer_id", "returned_at"),
        ("product_sk", "gold.dim_product", "product_id", "returned_at"),
        ("store_sk", "gold.dim_store", "store_id", None),
    ],
    "gold.fact_inventory": [
        ("product_sk", "gold.dim_product", "product_id", "CAST(f.snapshot_date AS TIMESTAMP)"),
        ("store_sk", "gold.dim_store", "store_id", None),
    ],
}


@pytest.fixture(scope="module")
def star(retailer: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("star")
    shutil.copytree(retailer, root / "landing")
    write_demo_config(root)
    project = Project.load(root)
    assert api.run(project).summary.status == "ok"
    return project


def _one(project: Project, sql: str) -> Any:
    return api.query(project, sql).column(0)[0].as_py()


@pytest.mark.parametrize(
    "dim,sk",
    [
        ("gold.dim_customer", "customer_sk"),
        ("gold.dim_product", "product_sk"),
        ("gold.dim_store", "store_sk"),
    ],
)
def test_surrogate_keys_are_unique_and_there_is_an_unknown_member(star: Project, dim: str, sk: str):
    assert _one(star, f"SELECT count(*) - count(DISTINCT {sk}) FROM {dim}") == 0
    assert _one(star, f"SELECT count(*) FROM {dim} WHERE {sk} = '-1'") == 1


@pytest.mark.parametrize("fact", sorted(LINKS))
def test_every_fact_row_joins_exactly_one_version_valid_at_its_event(star: Project, fact: str):
    rows = _one(star, f"SELECT count(*) FROM {fact}")
    assert rows > 0
    for sk, dim, key, at in LINKS[fact]:
        joined = _one(star, f"SELECT count(*) FROM {fact} f INNER JOIN {dim} d ON d.{sk} = f.{sk}")
        assert joined == rows, (fact, sk)
        if at is None:
            continue
        event = at if "(" in at else f"f.{at}"
        wrong = _one(
            star,
            f"SELECT count(*) FROM {fact} f INNER JOIN {dim} d ON d.{sk} = f.{sk} "
            f"WHERE f.{sk} <> '-1' AND NOT (d.{key} = f.{key} "
            f"AND {event} >= d.valid_from AND {event} < d.valid_to)",
        )
        assert wrong == 0, (fact, sk)
        # the unknown member only where no version was valid
        missed = _one(
            star,
            f"SELECT count(*) FROM {fact} f WHERE f.{sk} = '-1' AND EXISTS (SELECT 1 FROM {dim} d "
            f"WHERE d.{key} = f.{key} AND {event} >= d.valid_from AND {event} < d.valid_to)",
        )
        assert missed == 0, (fact, sk)


def test_every_order_line_and_order_is_in_the_facts(star: Project):
    assert _one(star, "SELECT count(*) FROM silver.order_items") == _one(
        star, "SELECT count(*) FROM gold.fact_sales"
    )
    assert _one(star, "SELECT count(DISTINCT order_id) FROM silver.order_items") == _one(
        star, "SELECT count(*) FROM gold.fact_orders"
    )

"""Governed reads of another company's lakehouse: the hand-made marketplace export
(tests/exports/marketplace), whose files name their columns differently. The mapping puts
``customer_zip_code_prefix`` in ``postal_code``; a column the contract lacks
(``customer_unique_id``, a person's identifier) rides in bronze's ``_rescued_data`` JSON. Its
own access.yml masks both, and limits a seller to their lines; the expected values come from
a plain DuckDB query over the export's files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakeshop.app.project import Project
from tests.retail.conftest import deliver, run_ok
from tests.retail.test_marketplace_export import CONFIG, EXPORT, STORES

from .conftest import Running, running

ACCESS = """
masks:
  postal:
    columns: ["*.*.postal_code"]
    kind: redact
    replacement: "#####"
  rescued_person:
    columns: ["bronze.customers._rescued_data"]
    kind: sql
    sql: "sha256(json_extract_string(_rescued_data, '$.customer_unique_id'))"
roles:
  engineer: {grants: [bronze, silver, gold]}
  seller: {grants: ["gold.fact_sales"], row_filters: {"gold.fact_sales": "seller_id = $seller"}}
users:
  eve: {role: engineer}
  sol: {role: seller, attributes: {seller: SELLER}}
"""


def _plain(sql: str, **params: str) -> list[tuple[Any, ...]]:
    """A query over the export's files with DuckDB itself (not lakeshop)."""
    with duckdb.connect() as con:
        return con.execute(sql, params).fetchall()


def _seller() -> str:
    rows = _plain(
        "SELECT seller_id, count(*) AS n FROM read_csv($f) GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1",
        f=str(EXPORT / "olist_order_items_dataset.csv"),
    )
    return str(rows[0][0])


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("marketplace-serve")
    files = {p.relative_to(EXPORT).as_posix(): p.read_text() for p in sorted(EXPORT.rglob("*.csv"))}
    deliver(root / "landing", {**files, "stores.csv": STORES})
    (root / "lakeshop.yml").write_text(CONFIG)
    (root / "access.yml").write_text(ACCESS.replace("SELLER", _seller()))
    project = Project.load(root)
    run_ok(project)
    with running(project, ("eve", "sol")) as served:
        yield served


def test_export_columns_are_masked_in_every_layer(marketplace: Running) -> None:
    customers = EXPORT / "olist_customers_dataset.csv"
    raw = _plain(
        "SELECT customer_zip_code_prefix, customer_unique_id FROM read_csv($f, all_varchar = true)",
        f=str(customers),
    )
    people = {r[1] for r in raw}
    assert len({r[0] for r in raw}) > 1  # real postal codes to hide
    for table in ("bronze.customers", "silver.customers", "gold.dim_customer"):
        seen = marketplace.sql(
            "eve", f"SELECT DISTINCT postal_code AS z FROM {table} WHERE postal_code IS NOT NULL"
        )
        assert seen.status_code == 200, seen.text
        assert {r["z"] for r in seen.json()["rows"]} == {"#####"}, table
    rescued = marketplace.sql("eve", "SELECT _rescued_data AS r FROM bronze.customers")
    hashed = {r["r"] for r in rescued.json()["rows"]}
    assert hashed == {hashlib.sha256(p.encode()).hexdigest() for p in people}
    assert not any(p in rescued.text for p in people)


def test_a_seller_sees_only_their_lines(marketplace: Running) -> None:
    seller = _seller()
    items = Path(EXPORT / "olist_order_items_dataset.csv")
    expected = _plain(
        "SELECT count(*) FROM read_csv($f) WHERE seller_id = $s", f=str(items), s=seller
    )[0][0]
    seen = marketplace.sql(
        "sol", "SELECT count(*) AS n, count(DISTINCT seller_id) AS sellers FROM gold.fact_sales"
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["rows"] == [{"n": expected, "sellers": 1}]
    assert marketplace.sql("sol", "SELECT * FROM gold.dim_customer").status_code == 403

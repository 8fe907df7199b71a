"""Orphan keys (docs/gold.md, "Inferred and guest members"): a row whose parent has not arrived
waits ``hold_days`` of business time, then enters silver and gold on an inferred member that
the real record completes in place; an order without a customer is a guest's.

The exports here are hand-made and unlike the generator's: a shop whose customer file covers
one customer in ten, a product missing from the product file, guest checkouts (an empty
customer id), ids such as ``cust-07``, timestamps with a space. Expected figures are plain
DuckDB queries over the landing files, written independently of lakeshop's SQL.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import ConfigError
from lakeshop.core.sqltext import literal
from lakeshop.observe.quality import member_revenue
from lakeshop.retail.contract import SOURCES
from tests.conftest import assert_healthy, default_orphans

START = date(2026, 3, 1)
DAYS = 6
CUSTOMERS = [f"cust-{n:02d}" for n in range(1, 11)]
#: the customer file covers a tenth of the customers
DELIVERED = CUSTOMERS[:1]
PRODUCTS = {"P-1": "12.50", "P-2": "40.00", "P-3": "7.25"}
#: a product every order line may name but the product file lacks
MISSING_PRODUCT = "P-3"


def _day(n: int) -> date:
    return START + timedelta(days=n)


def _write(landing: Path, source: str, tag: str, rows: list[dict[str, str]]) -> Path:
    path = landing / source / f"{source}_{tag}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(SOURCES[source].fields))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in SOURCES[source].fields})
    return path


def _customer(cid: str, city: str, updated: str) -> dict[str, str]:
    return {
        "customer_id": cid,
        "first_name": "ana",
        "last_name": cid.upper(),
        "email": f"{cid}@shop.example",
        "city": city,
        "country": "BR",
        "updated_at": updated,
    }


def _product(pid: str, updated: str = "2026-02-01 00:00:00") -> dict[str, str]:
    return {
        "product_id": pid,
        "sku": pid.lower(),
        "name": f"thing {pid}",
        "category": "home",
        "list_price": PRODUCTS[pid],
        "currency": "USD",
        "is_active": "true",
        "updated_at": updated,
    }


def _orders_of(n: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Day ``n``: three orders, the third a guest's; two lines each, one on the missing product
    every other order."""
    orders, lines = [], []
    for k in range(3):
        oid = f"ord-{n:02d}{k}"
        at = f"{_day(n).isoformat()} {10 + k:02d}:15:00"
        customer = "" if k == 2 else CUSTOMERS[(3 * n + k) % len(CUSTOMERS)]
        orders.append(
            {
                "order_id": oid,
                "customer_id": customer,
                "store_id": "web",
                "channel": "online",
                "order_ts": at,
                "currency": "USD",
                "status": "placed",
                "updated_at": at,
            }
        )
        products = ["P-1", MISSING_PRODUCT if (n + k) % 2 else "P-2"]
        for line_no, pid in enumerate(products, start=1):
            lines.append(
                {
                    "order_id": oid,
                    "line_no": str(line_no),
                    "product_id": pid,
                    "quantity": str(1 + (n + k + line_no) % 3),
                    "unit_price": PRODUCTS[pid],
                    "discount_amount": "0.50" if line_no == 2 else "",
                    "tax_amount": "1.10",
                    "item_status": "cancelled" if (n, k, line_no) == (1, 1, 2) else "pending",
                    "updated_at": at,
                }
            )
    return orders, lines


def deliver_master(landing: Path) -> None:
    """The store, a tenth of the customers, every product but one, and the USD rate."""
    _write(landing, "stores", "all", [{"store_id": "web", "channel": "online", "currency": "USD"}])
    _write(
        landing,
        "customers",
        "partial",
        [_customer(c, "recife", "2026-01-15 08:00:00") for c in DELIVERED],
    )
    _write(landing, "products", "all", [_product(p) for p in PRODUCTS if p != MISSING_PRODUCT])
    # USD at 1 (gold converts only with a rate export on this branch; see the currency item)
    _write(
        landing,
        "fx_rates",
        "all",
        [{"rate_date": "2026-02-01", "currency": "USD", "rate_to_base": "1"}],
    )


def deliver_day(landing: Path, n: int) -> None:
    orders, lines = _orders_of(n)
    tag = _day(n).isoformat()
    _write(landing, "orders", tag, orders)
    _write(landing, "order_items", tag, lines)


def make_project(directory: Path, orphans: dict[str, Any] | None = None) -> Project:
    """A project over ``directory/landing`` with the default orphan settings, or ``orphans``."""
    write_demo_config(directory)
    default_orphans(directory, **(orphans or {}))
    (directory / "landing").mkdir(exist_ok=True)
    return Project.load(directory)


def run(project: Project, full_refresh: bool = False) -> None:
    summary = api.run(project, full_refresh=full_refresh).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    assert_healthy(project)
    events = rows(project, f"SELECT * FROM _system.events WHERE run_id = {literal(summary.run_id)}")
    for e in events:
        assert e["rows_in"] == e["rows_written"] + e["rows_quarantined"] + e["rows_deduplicated"]


def rows(project: Project, sql: str) -> list[dict[str, Any]]:
    return api.query(project, sql).to_pylist()


def export_revenue(landing: Path, where: str = "TRUE") -> dict[date, Decimal]:
    """Revenue per order date, a plain sum over the landing files (USD: rate 1)."""
    con = duckdb.connect()
    found = con.sql(
        f"""
        SELECT CAST(CAST(o.order_ts AS TIMESTAMP) AS DATE) AS d,
               SUM(CAST(i.quantity AS INTEGER) * CAST(i.unit_price AS DECIMAL(18, 2))
                   - COALESCE(TRY_CAST(i.discount_amount AS DECIMAL(18, 2)), 0)
                   + COALESCE(TRY_CAST(i.tax_amount AS DECIMAL(18, 2)), 0)) AS revenue
        FROM read_csv('{landing}/order_items/*.csv', all_varchar = true) AS i
        JOIN read_csv('{landing}/orders/*.csv', all_varchar = true) AS o USING (order_id)
        WHERE i.item_status <> 'cancelled' AND ({where})
        GROUP BY ALL ORDER BY d
        """
    ).fetchall()
    con.close()
    return {d: Decimal(v).quantize(Decimal("0.01")) for d, v in found}


def gold_revenue(project: Project) -> dict[date, Decimal]:
    return {
        r["sales_date"]: r["revenue"]
        for r in rows(
            project,
            "SELECT sales_date, sum(total_revenue) AS revenue FROM gold.agg_daily_sales "
            "WHERE total_orders > 0 GROUP BY ALL ORDER BY ALL",
        )
    }


def held(project: Project, table: str) -> list[dict[str, Any]]:
    return rows(project, f"SELECT * FROM {table}__quarantine")


def sk(key: str, valid_from: str = "1900-01-01 00:00:00") -> str:
    return hashlib.md5(f"{key}|{valid_from}".encode()).hexdigest()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Project]:
    """Every day of the shop delivered at once, default orphan settings."""
    project = make_project(tmp_path)
    deliver_master(project.landing)
    for n in range(DAYS):
        deliver_day(project.landing, n)
    yield project


def test_partial_customer_file_sales_on_inferred_members_past_the_window(shop: Project):
    run(shop)
    latest = _day(DAYS - 1)
    window = {latest, latest - timedelta(days=1)}  # hold_days 2: dates less than 2 days back

    # nothing past the window waits or is dropped; within it, only rows whose parent is missing
    for table in ("silver.orders", "silver.order_items"):
        for r in held(shop, table):
            assert r["_retry"], r
            assert set(r["_failed_expectations"]) <= {
                "customer_id_known",
                "product_id_known",
                "order_id_known",
            }
    for r in held(shop, "silver.orders"):
        assert r["order_ts"].date() in window and r["customer_id"] not in DELIVERED
    for r in held(shop, "silver.order_items"):
        order = r["order_id"]
        assert date(2026, 3, 1 + int(order[4:6])) in window, r

    # every sale ordered before the window is in gold, on inferred customers and products
    before = {d: v for d, v in export_revenue(shop.landing).items() if d not in window}
    assert {d: v for d, v in gold_revenue(shop).items() if d not in window} == before
    inferred = rows(shop, "SELECT * FROM gold.dim_customer WHERE is_inferred ORDER BY ALL")
    ordered = {o["customer_id"] for n in range(DAYS - 2) for o in _orders_of(n)[0]}
    assert {r["customer_id"] for r in inferred} == ordered - set(DELIVERED) - {""}
    for r in inferred:
        assert r["customer_sk"] == sk(r["customer_id"])
        assert r["first_name"] is None and r["email"] is None and r["updated_at"] is None
        assert r["valid_from"] == datetime(1900, 1, 1) and r["is_current"] and not r["is_guest"]
    product = rows(shop, f"SELECT * FROM gold.dim_product WHERE product_id = '{MISSING_PRODUCT}'")
    assert len(product) == 1 and product[0]["is_inferred"] and product[0]["name"] is None
    lines = rows(
        shop,
        "SELECT f.customer_id, f.customer_sk, d.is_inferred FROM gold.fact_sales f "
        "JOIN gold.dim_customer d USING (customer_sk) WHERE f.customer_id IS NOT NULL",
    )
    assert lines and all(r["is_inferred"] == (r["customer_id"] not in DELIVERED) for r in lines)

    # guests: one member, every order with an empty customer id on it, none quarantined
    guest = rows(shop, "SELECT * FROM gold.dim_customer WHERE is_guest")
    assert [(g["customer_sk"], g["customer_id"], g["is_inferred"]) for g in guest] == [
        ("guest", None, False)
    ]
    guests = rows(
        shop,
        "SELECT DISTINCT order_id, customer_sk FROM gold.fact_sales WHERE customer_id IS NULL",
    )
    assert {g["customer_sk"] for g in guests} == {"guest"}
    assert len({g["order_id"] for g in guests}) == DAYS  # the guest order of every day
    assert not rows(shop, "SELECT * FROM gold.customer_features WHERE customer_id IS NULL")

    # the figure: how much revenue sits on inferred and guest members
    figure = {r["members_of"]: r for r in member_revenue(shop).to_pylist()}
    released = (  # guests' lines, but those on the missing product within the window
        f"o.customer_id IS NULL AND (i.product_id <> '{MISSING_PRODUCT}' "
        f"OR CAST(o.order_ts AS TIMESTAMP) < DATE '{min(window)}')"
    )
    guest_revenue = sum(export_revenue(shop.landing, released).values())
    assert figure["guest customer"]["revenue_base"] == guest_revenue
    assert figure["guest customer"]["members"] == 1
    assert figure["inferred customer"]["members"] == len(inferred)
    assert figure["inferred product"]["members"] == 1
    assert figure["all revenue"]["revenue_base"] == sum(gold_revenue(shop).values())


def test_with_no_window_revenue_equals_a_plain_sum_over_the_export(tmp_path: Path):
    project = make_project(tmp_path, {"hold_days": 0})
    deliver_master(project.landing)
    for n in range(DAYS):
        deliver_day(project.landing, n)
    run(project)
    assert gold_revenue(project) == export_revenue(project.landing)
    for table in ("silver.orders", "silver.order_items"):
        assert held(project, table) == []
    assert rows(project, "SELECT count(*) AS n FROM gold.fact_sales")[0]["n"] == 6 * DAYS


# three runs; the fast tier keeps test_partial_customer_file_sales_on_inferred_members_past_the_window
@pytest.mark.slow
def test_a_later_delivery_completes_inferred_members_in_place(shop: Project):
    run(shop)
    before = {
        r["customer_id"]: r["customer_sk"]
        for r in rows(shop, "SELECT * FROM gold.dim_customer WHERE customer_id IS NOT NULL")
    }
    # cust-02 arrives once; cust-04 (orders on 03-02 and 03-05) with two versions
    _write(
        shop.landing,
        "customers",
        "late",
        [
            _customer("cust-02", "olinda", "2026-03-07 09:00:00"),
            _customer("cust-04", "natal", "2026-03-02 12:00:00"),
            _customer("cust-04", "recife", "2026-03-04 12:00:00"),
        ],
    )
    _write(shop.landing, "products", "late", [_product(MISSING_PRODUCT, "2026-03-07 00:00:00")])
    run(shop)

    two = rows(shop, "SELECT * FROM gold.dim_customer WHERE customer_id = 'cust-02'")
    assert len(two) == 1
    assert two[0]["customer_sk"] == before["cust-02"]  # completed in place: the same key
    assert not two[0]["is_inferred"] and two[0]["city"] == "olinda"
    assert (two[0]["valid_from"], two[0]["is_current"]) == (datetime(1900, 1, 1), True)

    four = rows(
        shop, "SELECT * FROM gold.dim_customer WHERE customer_id = 'cust-04' ORDER BY valid_from"
    )
    assert [(r["customer_sk"], r["city"], r["valid_from"], r["is_inferred"]) for r in four] == [
        (before["cust-04"], "natal", datetime(1900, 1, 1), False),
        (sk("cust-04", "2026-03-04 12:00:00"), "recife", datetime(2026, 3, 4, 12), False),
    ]
    facts = rows(
        shop, "SELECT order_ts, customer_sk FROM gold.fact_sales WHERE customer_id = 'cust-04'"
    )
    assert {f["order_ts"].date() for f in facts} == {date(2026, 3, 2), date(2026, 3, 5)}
    for f in facts:  # each order on the version valid at its time
        expected = four[1] if f["order_ts"] >= datetime(2026, 3, 4, 12) else four[0]
        assert f["customer_sk"] == expected["customer_sk"], f
    product = rows(shop, f"SELECT * FROM gold.dim_product WHERE product_id = '{MISSING_PRODUCT}'")
    assert len(product) == 1 and not product[0]["is_inferred"] and product[0]["name"]
    assert product[0]["product_sk"] == sk(MISSING_PRODUCT)
    # the rows held within the window were released by the parents' arrival
    assert not [
        r for r in held(shop, "silver.orders") if r["customer_id"] in ("cust-02", "cust-04")
    ]
    # the same files loaded into a fresh lakehouse at once give the same gold
    assert_same_as_one_run(shop, shop.directory.parent / "whole", ["gold.", "silver."])


def _contents(project: Project, table: str) -> list[tuple[Any, ...]]:
    skip = {"_batch_id", "_row_hash", "_run_id", "_ingested_at"}
    columns = [c for c in api.query(project, f"SELECT * FROM {table} LIMIT 0").column_names]
    listed = ", ".join(f'"{c}"' for c in columns if c not in skip)
    return [tuple(r.values()) for r in rows(project, f"SELECT {listed} FROM {table} ORDER BY ALL")]


def assert_same_as_one_run(project: Project, directory: Path, prefixes: list[str]) -> None:
    """A fresh project over the same landing files, in one run, holds the same tables."""
    import shutil

    whole = make_project(directory, project.config.orphans.model_dump())
    shutil.copytree(project.landing, whole.landing, dirs_exist_ok=True)
    run(whole)
    tables = sorted(
        t
        for t in project.lakehouse().tables()
        if any(t.startswith(p) for p in prefixes) and not t.endswith("__quarantine")
    )
    assert tables
    for table in [*tables, "silver.orders__quarantine", "silver.order_items__quarantine"]:
        assert _contents(project, table) == _contents(whole, table), table


@pytest.mark.slow
def test_hold_days_count_business_days_and_day_by_day_equals_one_run(tmp_path: Path):
    project = make_project(tmp_path / "daily")
    deliver_master(project.landing)
    waiting = "ord-001"  # day 0, cust-02's: not in the customer file
    for n in range(DAYS):
        deliver_day(project.landing, n)
        run(project)
        in_silver = rows(project, f"SELECT * FROM silver.orders WHERE order_id = '{waiting}'")
        held_now = [r for r in held(project, "silver.orders") if r["order_id"] == waiting]
        if n < 2:  # the latest business date is less than hold_days after the order's
            assert not in_silver and len(held_now) == 1 and held_now[0]["_retry"], n
        else:
            assert in_silver and not held_now, n
        if n == 3:
            versions = {t: project.lakehouse().version(t) for t in project.lakehouse().tables()}
            run(project)  # nothing new: nothing changes
            after = {t: project.lakehouse().version(t) for t in project.lakehouse().tables()}
            data = [t for t in versions if not t.startswith("_system.")]
            assert {t: after[t] for t in data} == {t: versions[t] for t in data}
        if n == 4:  # a parent arrives days after its orders were inferred
            _write(
                project.landing,
                "customers",
                "late",
                [_customer("cust-02", "olinda", "2026-03-05 09:00:00")],
            )
            _write(project.landing, "products", "late", [_product(MISSING_PRODUCT)])
    completed = rows(project, "SELECT * FROM gold.dim_customer WHERE customer_id = 'cust-02'")
    assert len(completed) == 1 and completed[0]["customer_sk"] == sk("cust-02")
    assert_same_as_one_run(project, tmp_path / "whole", ["gold.", "silver."])


@pytest.mark.slow  # two runs; the policies' settings are checked in the fast tier below
def test_policies_quarantine_and_hold(tmp_path: Path):
    project = make_project(
        tmp_path,
        {
            "hold_days": 1,
            "policy": {"orders.customer_id": "quarantine", "order_items.product_id": "hold"},
        },
    )
    deliver_master(project.landing)
    for n in range(DAYS):
        deliver_day(project.landing, n)
    run(project)
    orders = held(project, "silver.orders")
    unknown = [r for r in orders if r["customer_id"] not in DELIVERED]
    assert unknown and len(unknown) == len(orders)
    assert all(not r["_retry"] and "customer_id_known" in r["_failed_expectations"] for r in orders)
    # quarantined at once: even the orders of the last day, within the window
    assert _day(DAYS - 1) in {r["order_ts"].date() for r in orders}
    # guests are no orphans
    assert (
        rows(project, "SELECT count(*) AS n FROM silver.orders WHERE customer_id IS NULL")[0]["n"]
        == DAYS
    )
    lines = held(project, "silver.order_items")
    on_missing = [r for r in lines if r["product_id"] == MISSING_PRODUCT]
    # held past the window: the first day's lines are still waiting for their product
    assert any(r["order_id"].startswith("ord-00") for r in on_missing)
    assert all(r["_retry"] for r in lines)
    assert not rows(
        project, f"SELECT * FROM silver.order_items WHERE product_id = '{MISSING_PRODUCT}'"
    )

    _write(project.landing, "products", "late", [_product(MISSING_PRODUCT)])
    _write(project.landing, "customers", "late", [_customer("cust-02", "olinda", "2026-03-07")])
    run(project)
    # hold: released by the parent's arrival; quarantine: for good
    assert rows(project, f"SELECT * FROM silver.order_items WHERE product_id = '{MISSING_PRODUCT}'")
    assert [r for r in held(project, "silver.orders") if r["customer_id"] == "cust-02"]
    assert not rows(project, "SELECT * FROM silver.orders WHERE customer_id = 'cust-02'")


@pytest.mark.parametrize(
    ("orphans", "key", "words"),
    [
        pytest.param(
            {"policy": {"orders.customer": "inferred"}},
            "orphans.policy.orders.customer",
            ["a known relation", "did you mean 'orders.customer_id'?"],
            id="unknown-relation",
        ),
        pytest.param(
            {"policy": {"order_items.order_id": "inferred"}},
            "orphans.policy.order_items.order_id",
            ["hold or quarantine", "found 'inferred'"],
            id="policy-not-allowed-for-an-event-parent",
        ),
        pytest.param(
            {"policy": {"orders.store_id": "wait"}},
            "orphans.policy.orders.store_id",
            ["one of hold, inferred, quarantine", "found 'wait'"],
            id="unknown-policy",
        ),
        pytest.param(
            {"hold_days": -1}, "orphans.hold_days", ["a number >= 0"], id="negative-window"
        ),
        pytest.param({"hold": 2}, "orphans.hold", ["did you mean 'hold_days'?"], id="unknown-key"),
    ],
)
def test_orphans_settings_are_validated(
    tmp_path: Path, orphans: dict[str, Any], key: str, words: list[str]
):
    with pytest.raises(ConfigError) as caught:
        make_project(tmp_path, orphans)
    message = str(caught.value)
    assert f"setting '{key}'" in message, message
    for w in words:
        assert w in message, message

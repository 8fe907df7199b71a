"""Saved analytics queries: listing, rendering, exact results on hand-made gold tables, and
end to end on a generated lakehouse (checked against an independent computation in Python)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakeshop.app import analytics, api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import LakeshopError
from lakeshop.pipeline import system

NAMES = [
    "customer_lifetime_value",
    "most_sold_product_30d",
    "product_return_analysis",
    "run_success_rate_30d",
    "sales_performance_30d",
    "table_duration_trend_30d",
]
#: the saved queries over the run log (``_system``) rather than gold
RUN_QUERIES = {"run_success_rate_30d", "table_duration_trend_30d"}

from tests.conftest import Prebuilt, cli, one_error_line  # noqa: E402


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return list(table.to_pylist())


def d(text: str) -> date:
    return date.fromisoformat(text)


def money(text: str) -> Decimal:
    return Decimal(text)


def ratio(num: int | Decimal, den: int | Decimal) -> Decimal:
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


# --- the list and the rendering -------------------------------------------------------------


def test_the_saved_queries_with_a_description_each():
    queries = analytics.saved_queries()
    assert [q.name for q in queries] == NAMES
    for q in queries:
        assert q.description and "\n" not in q.description
        assert not q.description.startswith("-")
        assert ("_system." if q.name in RUN_QUERIES else "gold.") in q.sql
        assert analytics.reads_runs(q) == (q.name in RUN_QUERIES)


def test_windowed_queries_use_as_of_and_read_only_gold_or_the_run_log():
    from lakeshop.pipeline.graph import referenced_tables

    by_name = {q.name: q for q in analytics.saved_queries()}
    assert by_name["most_sold_product_30d"].uses_as_of
    assert by_name["sales_performance_30d"].uses_as_of
    assert all(by_name[n].uses_as_of for n in RUN_QUERIES)
    for q in by_name.values():
        sql = analytics.render(q, date(2026, 1, 20))
        assert "$as_of" not in sql
        schema = "_system." if q.name in RUN_QUERIES else "gold."
        assert all(t.startswith(schema) for t in referenced_tables(sql)), q.name
        assert "current_date" not in q.sql.lower() and "now()" not in q.sql.lower()


def test_as_of_is_rendered_as_a_date_literal():
    q = analytics.saved_query("most_sold_product_30d")
    sql = analytics.render(q, date(2026, 1, 20))
    assert "order_date > DATE '2026-01-20' - 30" in sql
    assert analytics.render(q, datetime(2026, 1, 20, 13, 45)) == sql
    with pytest.raises(TypeError):
        analytics.render(q, "2026-01-20'; DROP TABLE x; --")  # type: ignore[arg-type]


def test_unknown_query_names_the_known_ones():
    with pytest.raises(analytics.UnknownQuery) as caught:
        analytics.saved_query("most_sold")
    assert caught.value.exit_code == 2
    assert all(n in str(caught.value) for n in NAMES)


def test_cli_lists_the_saved_queries():
    code, out, _ = cli("query")
    assert code == 0
    for q in analytics.saved_queries():
        assert q.name in out
    code, out, _ = cli("query", "--format", "json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)] == NAMES


def test_cli_unknown_query_is_one_line_exit_2(tmp_path: Path):
    code, _, err = cli("--project", tmp_path, "query", "best_product")
    assert code == 2
    line = one_error_line(err)
    assert "best_product" in line and all(n in line for n in NAMES)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "20/01/2026", ""])
def test_cli_bad_as_of_is_one_line_exit_2(tmp_path: Path, bad: str):
    code, _, err = cli("--project", tmp_path, "query", "most_sold_product_30d", "--as-of", bad)
    assert code == 2
    assert "--as-of" in one_error_line(err) and "YYYY-MM-DD" in err


# --- exact results on small hand-made gold tables -------------------------------------------

AS_OF = d("2026-01-31")

# order_id, order_date, customer_id, channel, product_id, item_status, quantity, sales_total_base
SALES = [
    ("O1", "2026-01-31", "C1", "online", "P1", "delivered", 5, "50.00"),  # window's last day
    ("O2", "2026-01-02", "C2", "online", "P1", "delivered", 4, "40.00"),  # window's first day
    ("O3", "2026-01-01", "C2", "online", "P1", "delivered", 100, "200.00"),  # previous window
    ("O4", "2026-01-20", "C4", "online", "P1", "shipped", 50, "500.00"),  # revenue, not delivered
    ("O5", "2026-01-15", "C1", "store", "P2", "delivered", 8, "80.00"),
    ("O6", "2026-01-10", "C1", "online", "P3", "cancelled", 9, "90.00"),  # not revenue
    ("O7", "2026-01-16", "C3", "store", "P4", "delivered", 8, "40.00"),  # ties P2 on units
    ("O8", "2025-12-15", "C3", "marketplace", "P2", "delivered", 1, "10.00"),  # previous only
    ("O9", "2026-02-01", "C1", "online", "P3", "delivered", 2, "20.00"),  # after as_of
]


def _write(project: Project, name: str, data: list[dict[str, Any]]) -> None:
    project.lakehouse().write(name, pa.Table.from_pylist(data), "overwrite")


@pytest.fixture
def handmade(tmp_path: Path) -> Project:
    """A lakehouse holding only small gold tables with known answers."""
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    _write(
        project,
        "gold.fact_sales",
        [
            {
                "order_id": o,
                "line_no": 1,
                "order_date": d(day),
                "customer_id": c,
                "channel": ch,
                "product_id": p,
                "item_status": st,
                "is_revenue": st != "cancelled",
                "quantity": q,
                "sales_total_base": money(v),
            }
            for o, day, c, ch, p, st, q, v in SALES
        ],
    )
    products = [
        ("P1", "Old widget", "Home", False),
        ("P1", "Widget", "Home", True),
        ("P2", "Gadget", "Toys", True),
        ("P3", "Gizmo", "Toys", True),
        ("P4", "Doohickey", "Garden", True),
    ]
    _write(
        project,
        "gold.dim_product",
        [
            {"product_sk": f"{p}{i}", "product_id": p, "name": n, "category": c, "is_current": cur}
            for i, (p, n, c, cur) in enumerate(products)
        ],
    )
    customers = [
        ("C1", "Ann", "Old", "bronze", False),
        ("C1", "Ann", "Lee", "gold", True),
        ("C2", "Bob", "Ray", "silver", True),
        ("C3", "Cy", "Doe", None, True),
    ]
    _write(
        project,
        "gold.dim_customer",
        [
            {
                "customer_sk": f"{c}{i}",
                "customer_id": c,
                "first_name": f,
                "last_name": la,
                "loyalty_tier": t,
                "is_current": cur,
            }
            for i, (c, f, la, t, cur) in enumerate(customers)
        ],
    )
    _write(
        project,
        "gold.customer_value",
        [
            {
                "customer_id": c,
                "lifetime_value": money(v),
                "orders": n,
                "recency_days": r,
                "r_score": 3,
                "f_score": 3,
                "m_score": 3,
                "rfm_segment": "Loyal",
            }
            for c, v, n, r in [
                ("C1", "100.00", 3, 0),
                ("C2", "300.00", 2, 5),
                ("C3", "300.00", 2, 1),
            ]
        ],
    )
    _write(
        project,
        "gold.product_returns",
        [
            {
                "product_id": p,
                "units_sold": s,
                "units_returned": r,
                "return_rate": ratio(r, s),
                "return_amount_base": money(a),
                "top_reason": reason,
            }
            for p, s, r, a, reason in [
                ("P1", 4, 4, "40.00", "damaged"),  # fewer than 5 units sold: left out
                ("P2", 10, 5, "50.00", "wrong size"),
                ("P3", 20, 2, "20.00", "late"),
                ("P4", 5, 0, "0.00", None),
            ]
        ],
    )
    return project


def test_most_sold_product_counts_delivered_lines_in_the_window(handmade: Project):
    got = rows(analytics.run_saved(handmade, "most_sold_product_30d", AS_OF))
    total = 9 + 8 + 8
    assert got == [
        {
            "rank": 1,
            "product_id": "P1",
            "product_name": "Widget",
            "category": "Home",
            "units": 9,
            "revenue_base": money("90.00"),
            "orders": 2,
            "sales_days": 2,
            "share_of_units": ratio(9, total),
        },
        {
            "rank": 2,
            "product_id": "P2",
            "product_name": "Gadget",
            "category": "Toys",
            "units": 8,
            "revenue_base": money("80.00"),
            "orders": 1,
            "sales_days": 1,
            "share_of_units": ratio(8, total),
        },
        {
            "rank": 2,
            "product_id": "P4",
            "product_name": "Doohickey",
            "category": "Garden",
            "units": 8,
            "revenue_base": money("40.00"),
            "orders": 1,
            "sales_days": 1,
            "share_of_units": ratio(8, total),
        },
    ]


def test_most_sold_product_window_moves_with_as_of(handmade: Project):
    got = rows(analytics.run_saved(handmade, "most_sold_product_30d", d("2026-01-01")))
    assert [(r["product_id"], r["units"]) for r in got] == [("P1", 100), ("P2", 1)]
    assert rows(analytics.run_saved(handmade, "most_sold_product_30d", d("2025-06-30"))) == []


def test_sales_performance_by_channel_against_the_previous_window(handmade: Project):
    got = {
        r["channel"]: r for r in rows(analytics.run_saved(handmade, "sales_performance_30d", AS_OF))
    }
    assert list(got) == ["online", "store", "marketplace"]  # by revenue, descending
    online, store, market = got["online"], got["store"], got["marketplace"]
    assert online["revenue_base"] == money("590.00")  # O1 + O2 + O4 (shipped counts)
    assert (online["orders"], online["units"], online["customers"]) == (3, 59, 3)
    assert online["avg_order_value"] == money("196.67")
    assert online["share_of_revenue"] == ratio(590, 710)
    assert online["previous_revenue_base"] == money("200.00")
    assert online["revenue_change_pct"] == money("195.00")
    assert store["revenue_base"] == money("120.00") and store["customers"] == 2
    assert store["previous_revenue_base"] == 0 and store["revenue_change_pct"] is None
    assert market["revenue_base"] == 0 and market["orders"] == 0
    assert market["avg_order_value"] == 0 and market["share_of_revenue"] == 0
    assert market["revenue_change_pct"] == money("-100.00")


def test_customer_lifetime_value_ranks_current_customers(handmade: Project):
    got = rows(analytics.run_saved(handmade, "customer_lifetime_value", AS_OF))
    assert [(r["rank"], r["customer_id"], r["last_name"], r["loyalty_tier"]) for r in got] == [
        (1, "C2", "Ray", "silver"),
        (1, "C3", "Doe", None),
        (3, "C1", "Lee", "gold"),
    ]
    assert got[0]["lifetime_value"] == money("300.00") and got[0]["rfm_segment"] == "Loyal"


def test_product_return_analysis_needs_five_units_sold(handmade: Project):
    got = rows(analytics.run_saved(handmade, "product_return_analysis", None))
    assert [(r["rank"], r["product_id"], r["product_name"]) for r in got] == [
        (1, "P2", "Gadget"),
        (2, "P3", "Gizmo"),
        (3, "P4", "Doohickey"),
    ]
    assert got[0]["return_rate"] == Decimal("0.5000") and got[0]["top_reason"] == "wrong size"
    assert got[2]["top_reason"] is None


def test_default_as_of_is_the_latest_order_date(handmade: Project):
    assert analytics.default_as_of(handmade) == d("2026-02-01")
    got = rows(analytics.run_saved(handmade, "most_sold_product_30d"))
    assert ("P3", 2) in [(r["product_id"], r["units"]) for r in got]  # O9 is in that window


def test_default_as_of_without_sales_is_a_clear_error(handmade: Project):
    empty = pa.table(
        {"order_id": pa.array([], pa.string()), "order_date": pa.array([], pa.date32())}
    )
    handmade.lakehouse().write("gold.fact_sales", empty, "overwrite")
    with pytest.raises(LakeshopError, match="--as-of"):
        analytics.run_saved(handmade, "most_sold_product_30d")


# --- the run log: exact results on hand-made _system rows -----------------------------------


def _at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour)


@pytest.fixture
def run_log(tmp_path: Path) -> Project:
    """``_system.runs`` and ``_system.events`` with known answers (newest run on 2026-03-02)."""
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    runs = []
    # run id, start, final status (None: never ended)
    for run_id, start, status in [
        ("r0", _at("2026-01-15"), "ok"),  # before the 30-day window
        ("r1", _at("2026-03-01", 8), "ok"),
        ("r2", _at("2026-03-01", 9), "failed"),
        ("r3", _at("2026-03-02", 8), "ok"),
        ("r4", _at("2026-03-02", 9), "aborted"),
        ("r5", _at("2026-03-02", 10), None),
        ("r6", _at("2026-03-02", 11), "ok"),
    ]:
        runs.append({"run_id": run_id, "status": "running", "started_at": start})
        if status is not None:
            runs.append({"run_id": run_id, "status": status, "started_at": start})
    system.append(project.lakehouse(), system.RUNS, runs)
    events = [
        # table, run, start, duration, status
        ("silver.a", "r1", _at("2026-03-01", 8), 1.0, "ok"),
        ("silver.a", "r2", _at("2026-03-01", 9), 10.0, "failed"),  # not an execution
        ("silver.a", "r3", _at("2026-03-01", 10), 2.0, "ok"),
        ("silver.a", "r6", _at("2026-03-02", 11), 3.0, "ok"),
        ("gold.b", "r0", _at("2026-02-10"), 5.0, "ok"),  # within 30 days, not the last 7
        ("gold.b", "r6", _at("2026-03-02", 11), 7.0, "ok"),
    ]
    system.append(
        project.lakehouse(),
        system.EVENTS,
        [
            {"table_name": t, "run_id": r, "started_at": s, "duration_s": d, "status": st}
            | {"rows_in": 10}
            for t, r, s, d, st in events
        ],
    )
    return project


def test_run_success_rate_per_day(run_log: Project):
    assert analytics.default_as_of(
        run_log, query=analytics.saved_query("run_success_rate_30d")
    ) == d("2026-03-02")
    got = rows(analytics.run_saved(run_log, "run_success_rate_30d"))
    assert got == [
        {
            "run_date": d("2026-03-01"),
            "runs": 2,
            "ok": 1,
            "failed": 1,
            "aborted": 0,
            "running": 0,
            "success_rate": Decimal("0.5000"),
        },
        {
            "run_date": d("2026-03-02"),
            "runs": 4,
            "ok": 2,
            "failed": 0,
            "aborted": 1,
            "running": 1,
            "success_rate": Decimal("0.6667"),
        },
    ]
    early = rows(analytics.run_saved(run_log, "run_success_rate_30d", d("2026-02-01")))
    assert [r["run_date"] for r in early] == [d("2026-01-15")]


def test_table_duration_trend(run_log: Project):
    got = {
        r["table_name"]: r for r in rows(analytics.run_saved(run_log, "table_duration_trend_30d"))
    }
    assert list(got) == ["gold.b", "silver.a"]  # slowest first
    a, b = got["silver.a"], got["gold.b"]
    assert (a["runs"], a["avg_duration_s"], a["latest_duration_s"], a["max_duration_s"]) == (
        3,
        Decimal("2.000"),
        Decimal("3.000"),
        Decimal("3.000"),
    )
    assert a["avg_before_s"] is None and a["change_pct"] is None
    assert a["seconds_per_run"] == Decimal("1.0000")
    assert (b["runs"], b["avg_7d_s"], b["avg_before_s"]) == (2, Decimal("7.000"), Decimal("5.000"))
    assert b["change_pct"] == Decimal("40.00") and b["seconds_per_run"] == Decimal("2.0000")


def test_run_queries_without_runs_are_a_clear_error(tmp_path: Path):
    write_demo_config(tmp_path)
    system.append(Project.load(tmp_path).lakehouse(), system.RUNS, [])
    code, _, err = cli("--project", tmp_path, "query", "run_success_rate_30d")
    assert code == 1 and "no run recorded yet" in one_error_line(err)


# --- end to end on a generated lakehouse ----------------------------------------------------


def require_declared(name: str) -> None:
    """Skip while the pipeline does not yet declare every gold table the query reads."""
    from lakeshop.pipeline.graph import referenced_tables
    from lakeshop.retail.pipeline import tables

    declared = {t.name for t in tables()}
    sql = analytics.render(analytics.saved_query(name), date(2026, 1, 1))
    read = {t for t in referenced_tables(sql) if not t.startswith("_system.")}
    missing = sorted(read - declared)
    if missing:
        pytest.skip(f"the pipeline does not declare {', '.join(missing)} yet")


@pytest.fixture(scope="module")
def demo(prebuilt: Prebuilt) -> Project:
    """A lakehouse built by ``lakeshop demo`` on a few small days (gold included; read-only)."""
    require_declared("most_sold_product_30d")
    return Project.load(prebuilt.demo().directory)


def delivered_units(project: Project, as_of: date) -> Counter[str]:
    """Units per product over the 30 days ending at ``as_of``, delivered lines only (Python)."""
    facts = api.query(
        project, "SELECT product_id, order_date, item_status, quantity FROM gold.fact_sales"
    )
    units: Counter[str] = Counter()
    for r in facts.to_pylist():
        if r["item_status"] == "delivered" and as_of - timedelta(30) < r["order_date"] <= as_of:
            units[r["product_id"]] += r["quantity"]
    return units


def expected_top(units: Counter[str]) -> list[tuple[str, int]]:
    return sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:10]


@pytest.mark.parametrize("days_back", [0, 2])
def test_e2e_most_sold_product_matches_python(demo: Project, days_back: int):
    as_of = analytics.default_as_of(demo) - timedelta(days_back)
    units = delivered_units(demo, as_of)
    got = rows(analytics.run_saved(demo, "most_sold_product_30d", as_of))
    assert got, "no delivered sales in the window"
    assert [(r["product_id"], r["units"]) for r in got] == expected_top(units)
    total = sum(units.values())
    for r in got:
        assert r["share_of_units"] == ratio(r["units"], total)
        assert r["product_name"] and r["category"]
        assert 1 <= r["sales_days"] <= 30 and r["orders"] >= 1
    ranks = [r["rank"] for r in got]
    assert ranks[0] == 1 and ranks == sorted(ranks)


def test_e2e_as_of_moves_the_window(demo: Project):
    latest = analytics.default_as_of(demo)
    assert latest == max(
        r["order_date"] for r in rows(api.query(demo, "SELECT order_date FROM gold.fact_sales"))
    )
    early = latest - timedelta(3)
    assert rows(analytics.run_saved(demo, "most_sold_product_30d", early)) != rows(
        analytics.run_saved(demo, "most_sold_product_30d", latest)
    )
    before = d("2020-01-01")
    assert rows(analytics.run_saved(demo, "most_sold_product_30d", before)) == []


def test_e2e_sales_performance_adds_up(demo: Project):
    as_of = analytics.default_as_of(demo)
    got = rows(analytics.run_saved(demo, "sales_performance_30d", as_of))
    facts = rows(
        api.query(
            demo,
            "SELECT channel, order_id, order_date, quantity, sales_total_base FROM gold.fact_sales WHERE is_revenue",
        )
    )
    revenue: defaultdict[str, Decimal] = defaultdict(Decimal)
    units: Counter[str] = Counter()
    for f in facts:
        if as_of - timedelta(30) < f["order_date"] <= as_of:
            revenue[f["channel"]] += f["sales_total_base"] or 0
            units[f["channel"]] += f["quantity"]
    assert {r["channel"]: r["revenue_base"] for r in got} == dict(revenue)
    assert {r["channel"]: r["units"] for r in got} == dict(units)
    assert abs(sum(r["share_of_revenue"] for r in got) - 1) <= Decimal("0.0005")
    assert all(r["revenue_change_pct"] is None for r in got)  # the data is younger than 30 days


def test_e2e_customer_lifetime_value(demo: Project):
    require_declared("customer_lifetime_value")
    got = rows(analytics.run_saved(demo, "customer_lifetime_value"))
    assert 0 < len(got) <= 20
    values = [r["lifetime_value"] for r in got]
    assert values == sorted(values, reverse=True)
    assert all(r["first_name"] and r["rfm_segment"] for r in got)
    assert len({r["customer_id"] for r in got}) == len(got)  # one current version each


def test_e2e_product_return_analysis(demo: Project):
    require_declared("product_return_analysis")
    got = rows(analytics.run_saved(demo, "product_return_analysis"))
    assert 0 < len(got) <= 20
    assert all(r["units_sold"] >= 5 and r["product_name"] for r in got)
    rates = [r["return_rate"] for r in got]
    assert rates == sorted(rates, reverse=True)


@pytest.mark.parametrize("name", NAMES)
def test_e2e_cli_runs_each_query(demo: Project, name: str):
    require_declared(name)
    code, out, err = cli("--project", demo.directory, "query", name, "--format", "json")
    assert code == 0, err
    assert json.loads(out)
    code, out, _ = cli("--project", demo.directory, "query", name)
    assert code == 0 and name in out.splitlines()[0] and "row(s)" in out


def test_e2e_cli_as_of_before_the_data_gives_no_rows(demo: Project):
    args = ("--project", demo.directory, "query", "most_sold_product_30d", "--as-of", "2020-01-01")
    code, out, _ = cli(*args, "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli(*args, "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith('"rank","product_id"')


def test_analytics_errors_are_lakeshop_errors():
    assert issubclass(analytics.UnknownQuery, LakeshopError)

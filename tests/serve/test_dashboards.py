"""The dashboards over HTTP: pages, tiles as the caller (filters, masks, row filters, grants),
CSV downloads safe from formula injection, the browser pages' redirects and headers. The
expected numbers come from direct queries over gold (:func:`lakeshop.app.api.query`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.dashboards.load import DEFAULTS
from tests.conftest import Prebuilt

from .conftest import Running

SALES = "SELECT sum(sales_total_base) AS revenue FROM gold.fact_sales WHERE is_revenue"


def test_demo_writes_the_dashboards_and_says_how_to_open_them(prebuilt: Prebuilt) -> None:
    demo = prebuilt.demo()
    folder = demo.directory / "dashboards"
    assert sorted(p.name for p in folder.glob("*.yml")) == sorted(
        p.name for p in DEFAULTS.glob("*.yml")
    )
    assert f"lakeshop --project {demo.directory} serve" in " ".join(demo.output.split())


def test_the_pages_are_listed(server: Running) -> None:
    with server.client("ana") as c:
        pages = c.get("/api/dashboards").json()
    names = [p["name"] for p in pages]
    assert names == ["sales", "products", "customers", "payments", "operations", "catalog"]


@pytest.mark.slow  # ~30 queries; the browser test loads every page too
def test_every_tile_answers_for_the_admin(server: Running) -> None:
    with server.client("ada") as c:
        for name in ("sales", "products", "customers", "payments", "operations", "catalog"):
            page = c.get(f"/api/dashboards/{name}").json()
            assert all(t["allowed"] for t in page["tiles"]), name
            for tile in page["tiles"]:
                got = c.get(tile["link"])
                assert got.status_code == 200, (name, tile["id"], got.text)
                # the demo fired no alert and trained no model: the ML tiles answer, empty
                # (with data: test_dashboards_browser.py)
                if tile["id"] not in ("alerts", "ml_backtests", "ml_runs"):
                    assert got.json()["row_count"] > 0, (name, tile["id"])


def test_a_tile_follows_its_filters_like_a_query_on_gold(server: Running) -> None:
    where = " AND channel = 'online' AND order_date BETWEEN DATE '2026-01-02' AND DATE '2026-01-04'"
    expected = api.query(server.project, SALES + where).column(0)[0].as_py()
    everything = api.query(server.project, SALES).column(0)[0].as_py()
    with server.client("ana") as c:
        url = "/api/dashboards/sales/tiles/revenue"
        filtered = c.get(
            url, params={"channel": "online", "date_from": "2026-01-02", "date_to": "2026-01-04"}
        ).json()
        unfiltered = c.get(url).json()
        bad = c.get(url, params={"date_from": "soon"})
    assert Decimal(filtered["rows"][0]["revenue"]) == expected
    assert Decimal(unfiltered["rows"][0]["revenue"]) == everything != expected
    assert bad.status_code == 422 and "date_from" in bad.json()["error"]


def test_row_filters_apply_to_tiles(server: Running) -> None:
    expected = api.query(server.project, SALES + " AND store_id = 'S001'").column(0)[0].as_py()
    with server.client("sam") as c:  # a store manager of S001
        seen = c.get("/api/dashboards/sales/tiles/by_store").json()
        total = c.get("/api/dashboards/sales/tiles/revenue").json()
    assert {r["store_id"] for r in seen["rows"]} == {"S001"}
    assert Decimal(total["rows"][0]["revenue"]) == expected


def test_masks_apply_to_tiles_and_their_csv(server: Running) -> None:
    url = "/api/dashboards/customers/tiles/lifetime_value"
    with server.client("ana") as c:
        rows = c.get(url).json()["rows"]
        download = c.get(url + ".csv")
    with server.client("ada") as c:
        clear = c.get(url).json()["rows"]
    emails = [r["email"] for r in rows if r["email"]]
    assert emails and all("***@" in e for e in emails)
    assert {r["customer_id"] for r in rows} == {r["customer_id"] for r in clear}
    assert not any(r["email"] in download.text for r in clear if r["email"])
    assert download.headers["content-disposition"].endswith('customers-lifetime_value.csv"')
    assert [r["email"] for r in csv.DictReader(io.StringIO(download.text))] == [
        r["email"] for r in rows
    ]


def test_a_role_without_the_run_log_gets_its_tiles_withheld(server: Running) -> None:
    with server.client("ana") as c:
        page = c.get("/api/dashboards/operations")
        tile = c.get("/api/dashboards/operations/tiles/runs")
        download = c.get("/api/dashboards/operations/tiles/runs.csv")
        html = c.get("/dashboards/operations", headers={"Authorization": ""})
    assert page.status_code == 200
    assert all(not t["allowed"] and "_system" in t["reason"] for t in page.json()["tiles"])
    assert tile.status_code == 403 and download.status_code == 403
    assert html.status_code == 303  # no session: to the login page, not an error page
    audit = server.audit()
    refused = [
        r for r in audit.to_pylist() if r["object"] == "operations/runs" and r["user_name"] == "ana"
    ]
    assert {r["status"] for r in refused} == {"denied"} and len(refused) == 2


@pytest.fixture
def own_page(server: Running) -> Iterator[Path]:
    """A dashboard of the test's own in the served project, with a cell that is a formula."""
    path = server.project.directory / "dashboards" / "zz_formulas.yml"
    path.write_text(
        "title: Formulas\n"
        "filters: [{name: channel, kind: choice, options: 'SELECT DISTINCT channel FROM gold.dim_store'}]\n"
        "tiles:\n"
        "  - id: cells\n"
        "    title: Cells\n"
        "    chart: table\n"
        "    sql: |\n"
        "      SELECT * FROM (VALUES ('=HYPERLINK(\"http://x\")', 1), ('+1', 2), ('-1', 3),\n"
        "        ('@A1', 4), ('plain', 5)) AS t(cell, n) WHERE $channel IS NULL OR n > 0 ORDER BY n\n"
    )
    yield path
    path.unlink()


def test_a_tile_csv_escapes_formulas(server: Running, own_page: Path) -> None:
    with server.client("ada") as c:
        assert "zz_formulas" in [p["name"] for p in c.get("/api/dashboards").json()]
        text = c.get("/api/dashboards/zz_formulas/tiles/cells.csv").text
    cells = [r["cell"] for r in csv.DictReader(io.StringIO(text))]
    assert cells == ['\'=HYPERLINK("http://x")', "'+1", "'-1", "'@A1", "plain"]


def test_the_browser_pages_redirect_and_send_a_strict_policy(server: Running) -> None:
    with server.client() as c:
        home = c.get("/")
        page = c.get("/dashboards/sales")
        login = c.get("/login")
        script = c.get("/static/plotly.js")
        sheet = c.get("/static/plotly.css")
        missing = c.get("/static/secret.txt")
        tile = c.get("/api/dashboards/sales/tiles/revenue")
    assert home.status_code == 303 and home.headers["location"] == "/login"
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert (
        login.status_code == 200 and "script-src 'self'" in login.headers["content-security-policy"]
    )
    assert "<script>" not in login.text  # no inline script
    assert script.status_code == 200 and "max-age=31536000" in script.headers["cache-control"]
    assert "plotly" in script.text[:2000].lower() and len(script.content) > 1_000_000
    assert sheet.headers["content-type"].startswith("text/css")
    assert ".js-plotly-plot .plotly" in sheet.text and 'class="no-inline-styles"' in login.text
    assert missing.status_code == 404 and tile.status_code == 401
    with server.client() as c:
        logged = c.post("/login", json={"user": "ana", "token": server.tokens["ana"]})
        assert logged.status_code == 200
        home = c.get("/")
        page = c.get("/dashboards/sales")
        unknown = c.get("/dashboards/nope")
    assert home.status_code == 303 and home.headers["location"] == "/dashboards/sales"
    assert page.status_code == 200 and 'id="tile-revenue_by_day"' in page.text
    assert unknown.status_code == 404

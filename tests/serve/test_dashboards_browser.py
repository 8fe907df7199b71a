"""The dashboards in a real browser (Debian's Chromium through Playwright) against a real
server on loopback: log in, every page loads with data, a filter changes the numbers to what
a direct query on gold gives, a masked column shows masked for the analyst, a role without
the run log sees its tiles withheld, and no request leaves 127.0.0.1. Leaves a screenshot of
each page in docs/images/dashboard-<name>.png."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from tests.conftest import cli
from tests.observe.test_report import CHROMIUM_FLAGS, chromium  # noqa: F401 (a fixture)

from .conftest import Running, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ("sales", "products", "customers", "payments", "operations", "catalog")
#: the Operations tiles over the models' runs and backtests (lakeshop ml)
ML_TILES = ("ml_backtests", "ml_runs")
#: small models for a month of a tiny retailer: a week's horizon, two folds a week apart
ML_CONFIG = """
ml:
  forecast: {grain: product, horizon: 7, min_history_days: 14}
  churn: {horizon_days: 7, min_history_days: 7}
  backtest: {folds: 2, step_days: 7}
"""
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: waiting by selectors: a predicate in JavaScript would be eval'd, which the page's CSP forbids
READY = "body[data-state=ready]"


class Browser:
    """One Chromium, and every URL its pages asked for."""

    def __init__(self, pw: Any, executable: Path, server: Running) -> None:
        self.server = server
        self.browser = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_FLAGS)
        self.requests: list[str] = []
        self.problems: list[str] = []

    def login(self, user: str) -> Any:
        """A new browser context logged in as ``user`` through the login page."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        # anything not for the server is refused before it leaves (and recorded)
        context.route("**/*", self._route)
        page = context.new_page()
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text} {m.location}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.goto(self.server.url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=user]", user)
        page.fill("input[name=token]", self.server.tokens[user])
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboards/sales*")
        return page

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.server.url + "/"):
            route.continue_()
        else:
            route.abort()

    def open(self, page: Any, name: str) -> None:
        page.goto(f"{self.server.url}/dashboards/{name}")
        page.wait_for_selector(READY, timeout=60_000)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright for the module: a second sync_playwright() while the first is open
    refuses to start ("Sync API inside the asyncio loop")."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Any, chromium: Path, server: Running) -> Iterator[Browser]:  # noqa: F811
    opened = Browser(playwright, chromium, server)
    try:
        yield opened
    finally:
        opened.browser.close()
    off = [u for u in opened.requests if not u.startswith(server.url + "/")]
    assert off == [], off


def _number(page: Any, tile: str) -> Decimal:
    return Decimal(page.inner_text(f"#tile-{tile} .value").replace(",", ""))


def _lineage_drawn(browser: Browser, page: Any, user: str, table: str) -> list[str]:
    """The tables the catalog's lineage graph of ``table`` labels, once checked against the
    pipeline's graph and what ``user`` may read (from the API); the arrows against its edges."""
    page.wait_for_selector(f"#catalog .table-detail[data-table='{table}']")
    page.wait_for_selector("#lineage-graph[data-state=ready]")
    labels = page.eval_on_selector_all(
        "#lineage-graph g.textpoint text", "ts => ts.map(t => t.textContent)"
    )
    graph = browser.server.project.graph
    with browser.server.client(user) as c:
        visible = {t["name"] for t in c.get("/api/tables").json()}
        edges = c.get(f"/api/tables/{table}").json()["lineage"]["edges"]
    expected = ({table} | graph.ancestors(table) | graph.downstream(table)) & visible
    assert sorted(labels) == sorted(expected)
    assert page.locator("#lineage-graph .annotation").count() == len(edges) > 0
    return list(labels)


def test_every_dashboard_loads_with_data(browser: Browser) -> None:
    page = browser.login("ada")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        browser.open(page, name)
        states = page.eval_on_selector_all(
            ".tile", "ts => ts.map(t => [t.dataset.tile, t.dataset.state, t.dataset.rows])"
        )
        assert states, name
        for tile, state, rows in states:
            assert state == "ready", (name, tile, state)
            # the demo fired no alert and trained no model (ML tiles: the test further down)
            if tile != "alerts" and tile not in ML_TILES:
                assert int(rows) > 0, (name, tile)
        charts = page.eval_on_selector_all(
            ":is(.tile.line, .tile.bar, .tile.area):not([data-rows='0']) .body",
            "bs => bs.map(b => b.querySelectorAll('g.trace').length)",
        )
        assert all(n > 0 for n in charts), (name, charts)
        if name == "catalog":
            page.wait_for_selector("#catalog[data-state=ready] .table-detail[data-table]")
            assert page.locator("#catalog ul.tables li").count() > 20
            page.click("#catalog ul.tables a[href='#gold.fact_sales']")
            detail = page.inner_text("#catalog .table-detail")
            assert "silver.order_items" in detail and "gold.agg_daily_sales" in detail
            assert "sales_total" in detail
            assert "expectations of the latest run" in detail  # the admin reads _system
            _lineage_drawn(browser, page, "ada", "gold.fact_sales")
        # the top of the page, at most 1400 px tall: small PNGs for the docs
        height = min(1400, page.evaluate("document.documentElement.scrollHeight"))
        clip = {"x": 0, "y": 0, "width": 1280, "height": height}
        page.screenshot(path=str(IMAGES / f"dashboard-{name}.png"), full_page=True, clip=clip)
    assert browser.problems == [], "\n".join(browser.problems)


def test_a_filter_changes_the_numbers_to_those_of_gold(browser: Browser) -> None:
    page = browser.login("ana")
    browser.open(page, "sales")
    sql = "SELECT sum(sales_total_base) FROM gold.fact_sales WHERE is_revenue"
    project = browser.server.project
    assert _number(page, "revenue") == api.query(project, sql).column(0)[0].as_py()
    with page.expect_response(lambda r: "tiles/revenue?" in r.url and "channel=online" in r.url):
        page.select_option("select[name=channel]", "online")
    page.wait_for_selector("#tile-revenue[data-state=ready]")
    online = api.query(project, sql + " AND channel = 'online'").column(0)[0].as_py()
    assert _number(page, "revenue") == online
    with page.expect_response(
        lambda r: "tiles/orders?" in r.url and "date_from=2026-01-03" in r.url
    ):
        page.fill("input[name=date_from]", "2026-01-03")
    page.wait_for_selector(".tile[data-state=loading]", state="detached")
    orders = (
        api.query(
            project,
            "SELECT count(DISTINCT order_id) FROM gold.fact_sales WHERE is_revenue "
            "AND channel = 'online' AND order_date >= DATE '2026-01-03'",
        )
        .column(0)[0]
        .as_py()
    )
    assert _number(page, "orders") == orders
    assert "channel=online" in page.url  # the filters are in the address, to share it
    traces = page.evaluate("document.querySelector('#tile-revenue_by_day .body').data.length")
    assert traces == 1  # one channel left


def test_the_analyst_sees_masked_emails_and_withheld_operations(browser: Browser) -> None:
    page = browser.login("ana")
    browser.open(page, "customers")
    emails = page.eval_on_selector_all(
        "#tile-lifetime_value tbody tr td:nth-child(2)", "tds => tds.map(td => td.textContent)"
    )
    assert emails and all("***@" in e for e in emails if e != "–"), emails
    browser.open(page, "operations")
    states = page.eval_on_selector_all(".tile", "ts => ts.map(t => t.dataset.state)")
    assert states and set(states) == {"denied"}
    assert page.locator(".withheld").count() == len(states)
    assert page.locator("h1").inner_text() == "Operations"  # the page, not an error page
    browser.open(page, "catalog")
    page.wait_for_selector("#catalog[data-state=ready] .table-detail[data-table]")
    listed = page.eval_on_selector_all("#catalog ul.tables li", "ls => ls.map(l => l.textContent)")
    assert listed and all(name.startswith("gold.") for name in listed)  # the analyst's grant
    assert page.locator("#tile-expectations[data-state=denied]").count() == 1
    page.click("#catalog ul.tables a[href='#gold.fact_sales']")
    drawn = _lineage_drawn(browser, page, "ana", "gold.fact_sales")
    assert drawn and all(name.startswith("gold.") for name in drawn)  # no silver, no bronze
    assert browser.problems == [], "\n".join(browser.problems)


@pytest.mark.ml
def test_the_operations_dashboard_shows_the_models_runs_and_backtests(
    prebuilt: Any,
    playwright: Any,
    chromium: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    directory = prebuilt.demo_copy(tmp_path / "shop", scale=0.01, days=30)
    with (directory / "lakeshop.yml").open("a") as fh:
        fh.write(ML_CONFIG)
    for command in (("ml", "train"), ("ml", "backtest")):
        code, out, err = cli("--project", directory, *command)
        assert code == 0, out + err
    project = Project.load(directory)
    runs = api.query(project, "SELECT count(*) FROM _system.ml_runs").column(0)[0].as_py()
    assert runs == 5  # three models trained, two backtested
    with running(project, ("ada",)) as served:
        browser = Browser(playwright, chromium, served)
        try:
            page = browser.login("ada")
            browser.open(page, "operations")
            states = page.eval_on_selector_all(
                ".tile", "ts => ts.map(t => [t.dataset.tile, t.dataset.state, t.dataset.rows])"
            )
            shown = {tile: (state, int(rows)) for tile, state, rows in states}
            assert shown["ml_runs"] == ("ready", runs), shown
            state, bars = shown["ml_backtests"]
            assert state == "ready" and bars > 0
            table = page.inner_text("#tile-ml_runs")
            assert "demand_forecast" in table and "backtest" in table and "segments" in table
            # one trace per role: the models and their baselines side by side
            traces = page.eval_on_selector_all(
                "#tile-ml_backtests .body g.trace", "ts => ts.length"
            )
            assert traces == 2
            measures = page.evaluate(
                "Array.from(document.querySelector('#tile-ml_backtests .body').data[0].x)"
            )
            assert "churn roc_auc" in measures and "demand_forecast mase" in measures, measures
        finally:
            browser.browser.close()
    off = [u for u in browser.requests if not u.startswith(served.url + "/")]
    assert off == [] and browser.problems == [], (off, browser.problems)

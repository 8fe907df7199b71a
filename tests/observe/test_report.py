"""``lakeshop report``: one self-contained HTML file, checked as data and in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.observe import report
from lakeshop.pipeline import system
from tests.conftest import cli, one_error_line

CHROMIUM = Path("/usr/bin/chromium")
#: flags that work on this machine; the browser never goes to the network
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: where the browser test leaves its screenshot (``build/`` is gitignored)
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "report-screenshot.png"

#: the columns of ``_system.alerts`` as the alerting part writes them
ALERTS_SCHEMA = system.SCHEMAS[system.ALERTS]  # the table exactly as the pipeline writes it

ALERTS = [
    ("revenue_drop", "critical", "channel=online", "revenue fell 62.5 % below the 7-day average"),
    ("order_floor", "warning", "total", "120 orders < floor 150 <script>alert(1)</script>"),
    ("quarantine_rate", "warning", "silver.orders", "quarantine rate 3.1 % above ceiling 2 %"),
]


def write_alerts(project: Project, rows: list[tuple[str, str, str, str]]) -> None:
    """Rows in ``_system.alerts``, written with the Lakehouse API (empty: the table only)."""
    fired = datetime(2026, 1, 4, 6, 0)  # naive UTC, as in every _system table
    data = [
        {
            "alert_id": f"A{i}",
            "run_id": "20260104T060000-000002",
            "fired_at": fired,
            "rule": rule,
            "severity": severity,
            "scope": scope,
            "business_date": date(2026, 1, 4),
            "value": 37.5 + i,
            "threshold": 50.0,
            "message": message,
            "dedup_key": f"{rule}:{scope}:2026-01-04",
            "deliveries": '[{"channel": "log", "status": "sent"}]',
        }
        for i, (rule, severity, scope, message) in enumerate(rows)
    ]
    table = pa.Table.from_pylist(data, schema=ALERTS_SCHEMA)
    project.lakehouse().write("_system.alerts", table, "append")


@pytest.fixture
def copied(observed: Project, tmp_path: Path) -> Project:
    """A writable copy of the observed project."""
    shutil.copytree(observed.directory, tmp_path / "project")
    return Project.load(tmp_path / "project")


# --- the report as data ---------------------------------------------------------------------


def test_every_chart_has_data_from_gold_and_system(observed: Project, tmp_path: Path):
    built = report.write(observed, tmp_path / "r.html", days=30)
    assert built.empty == {} and set(built.rows) == set(report.CHARTS)
    page = (tmp_path / "r.html").read_text()
    for chart_id, title in report.CHARTS.items():
        assert page.count(f'id="{chart_id}"') == 1 and f"<h2>{title}</h2>" in page
    latest = api.query(observed, "SELECT max(sales_date) FROM gold.agg_daily_sales")
    assert built.as_of == latest.column(0)[0].as_py() == date(2026, 1, 4)
    # one point per day and channel over the window; ten products; both runs' durations
    days = api.query(observed, "SELECT count(*) FROM gold.agg_daily_sales").column(0)[0].as_py()
    assert built.rows["chart-revenue-by-channel"] == days
    assert built.rows["chart-top-products"] == 10
    assert built.rows["chart-run-durations"] == 2 * 4  # three layers and the wall clock


def test_the_report_is_self_contained(observed: Project, tmp_path: Path):
    from plotly.offline import get_plotlyjs

    built = report.build(observed)
    page = built.html
    assert page.count(get_plotlyjs()[:200]) == 1  # plotly.js inlined once
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)


def test_revenue_window_follows_days(observed: Project):
    built = report.build(observed, days=1)
    one_day = api.query(
        observed, "SELECT count(*) FROM gold.agg_daily_sales WHERE sales_date = DATE '2026-01-04'"
    )
    assert built.rows["chart-revenue-by-channel"] == one_day.column(0)[0].as_py()


def test_no_alerts_table_is_an_explicit_no_alerts_state(copied: Project):
    # every run creates it; a lakehouse written by an older version may not have it
    shutil.rmtree(copied.lakehouse().path("_system.alerts"))
    assert not copied.lakehouse().exists("_system.alerts")
    built = report.build(copied)
    assert built.alerts == 0
    assert "No alerts fired: _system.alerts does not exist" in built.html
    assert 'id="alerts" data-rows="0"' in built.html


def test_an_empty_alerts_table_is_no_alerts_fired(copied: Project):
    write_alerts(copied, [])
    assert copied.lakehouse().exists("_system.alerts")
    built = report.build(copied)
    assert built.alerts == 0 and "No alerts fired: _system.alerts is empty." in built.html


def test_fired_alerts_are_listed_escaped(copied: Project):
    write_alerts(copied, ALERTS)
    built = report.build(copied)
    assert built.alerts == 3 and 'id="alerts" data-rows="3"' in built.html
    for rule, severity, scope, _ in ALERTS:
        assert f"<td>{rule}</td>" in built.html and f"<td>{scope}</td>" in built.html
        assert f'class="sev-{severity}"' in built.html
    assert "<script>alert(1)</script>" not in built.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in built.html


def test_an_empty_lakehouse_says_no_data_for_every_chart(tmp_path: Path):
    write_demo_config(tmp_path)
    built = report.write(Project.load(tmp_path), tmp_path / "r.html")
    assert built.rows == {} and set(built.empty) == set(report.CHARTS)
    page = (tmp_path / "r.html").read_text()
    for chart_id in report.CHARTS:
        assert f'<div class="no-data" id="{chart_id}" data-empty="true">No data: ' in page
    assert "does not exist yet (run `lakeshop run`)" in page
    assert "No alerts fired" in page and built.as_of is None


def test_cli_report(observed: Project, tmp_path: Path):
    out = tmp_path / "deep" / "report.html"
    code, text, _ = cli("--project", observed.directory, "report", "--out", out, "--days", "7")
    assert code == 0 and out.exists() and str(out) in text
    assert "6 of 6 charts with data, 0 alert(s)" in text
    code, _, err = cli("--project", observed.directory, "report", "--out", tmp_path)
    assert code == 1 and "is a folder" in one_error_line(err)
    code, _, err = cli("--project", observed.directory, "report", "--days", "0")
    assert code == 2 and "--days" in one_error_line(err)


# --- the report in a browser ----------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (we are root on CI machines)."""
    if not CHROMIUM.exists():
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        # another apt-get on the machine holds the dpkg lock for a while: wait for it
        install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y"]
        install += ["--no-install-recommends", "chromium"]
        done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:  # an old package list: refresh it once
            subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
            done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
        if not CHROMIUM.exists():
            pytest.fail(
                f"the report test needs {CHROMIUM}: `apt-get install -y chromium` failed "
                f"(exit {done.returncode}): {done.stderr.strip()[-1500:]}",
                pytrace=False,
            )
    return CHROMIUM


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_in_headless_chromium(chromium: Path, copied: Project, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    write_alerts(copied, ALERTS)
    page_file = tmp_path / "report.html"
    report.write(copied, page_file)
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_function("typeof Plotly === 'object'")
            rendered = {}
            for chart_id in report.CHARTS:
                page.wait_for_selector(f"#{chart_id} .main-svg", timeout=15_000)
                rendered[chart_id] = page.evaluate(
                    """id => {
                        const div = document.getElementById(id);
                        const points = (div.data || []).map(t => (t.x || []).length);
                        return {traces: div.querySelectorAll('g.trace').length, points: points};
                    }""",
                    chart_id,
                )
            alert_rows = page.locator("#alerts tbody tr").all_inner_texts()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert all(u.startswith(("file://", "data:", "blob:", "about:")) for u in requests), requests
    for chart_id, seen in rendered.items():
        assert seen["traces"] >= 1 and seen["points"] and all(seen["points"]), (chart_id, seen)
    assert len(alert_rows) == 3 and any("revenue_drop" in r for r in alert_rows)
    assert shot.stat().st_size > 50_000
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)

"""Alerts on real pipeline output: each generated incident fires exactly its alerts, a clean
history none; deliveries to a webhook and an SMTP server on localhost; no duplicates."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeshop.app import alerts, api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import Incident, generate
from lakeshop.pipeline import system
from tests.conftest import cli, copy_days, one_error_line
from tests.receivers import Smtp, Webhook, free_port

SEED, SCALE, DAYS = 21, 0.02, 9
FIRST_DAYS = [f"2026-01-0{d}" for d in range(1, DAYS)]
LAST = date(2026, 1, DAYS)
TOKEN = "tok-S3cret-webhook"

Fired = set[tuple[str, str, date | None]]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | None], Path]:
    """The same days, clean or with one incident on day 9 (generated once each): nine days,
    ten for late files (their late delivery comes with the tenth day's)."""
    made: dict[str | None, Path] = {}

    def get(kind: str | None) -> Path:
        if kind not in made:
            out = tmp_path_factory.mktemp(kind or "clean")
            incidents = [Incident.parse(f"{kind}:{LAST}")] if kind else []
            days = DAYS + 1 if kind == "late-files" else DAYS
            generate(out, days=days, scale=SCALE, seed=SEED, incidents=incidents)
            made[kind] = out
        return made[kind]

    return get


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, history: Callable[[str | None], Path]) -> Path:
    """A project that has run on the first eight days, all clean."""
    root = tmp_path_factory.mktemp("base")
    copy_days(history(None), root / "landing", FIRST_DAYS)
    write_demo_config(root)
    done = api.run(Project.load(root))
    assert done.summary.status == "ok"
    # as of day 8, every rule had its history: nothing fires on clean data
    assert done.alerts.as_of == date(2026, 1, 8)
    assert done.alerts.errors == {}
    assert done.alerts.fired == []
    return root


def _fired(outcome: alerts.Outcome) -> Fired:
    return {(a.firing.rule, a.firing.scope, a.firing.business_date) for a in outcome.fired}


def _recorded(root: Path) -> list[dict[str, Any]]:
    return system.read(Project.load(root).lakehouse(), system.ALERTS).to_pylist()


def _day_nine(
    base: Path,
    tmp_path: Path,
    history: Callable[[str | None], Path],
    kind: str | None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """A copy of the base project, given the last day's files of ``kind``'s history."""
    root = tmp_path / "project"
    shutil.copytree(base, root)
    copy_days(history(kind), root / "landing", [LAST.isoformat()])
    if settings is not None:
        config = yaml.safe_load((root / "lakeshop.yml").read_text())
        config["alerts"] = settings
        (root / "lakeshop.yml").write_text(yaml.safe_dump(config))
    return root


def _run(root: Path) -> alerts.Outcome:
    done = api.run(Project.load(root))
    assert done.summary.status == "ok"
    assert done.alerts.errors == {}
    return done.alerts


REVENUE_DROP: Fired = {
    ("revenue_drop", "channel=marketplace", LAST),
    ("revenue_drop", "channel=online", LAST),
    ("revenue_drop", "channel=store", LAST),
    ("revenue_drop", "total", LAST),
}


@pytest.mark.slow  # a run over nine days; test_revenue_drop is the fast part
def test_a_clean_day_fires_nothing(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, None)
    outcome = _run(root)
    assert outcome.as_of == LAST
    assert _fired(outcome) == set()
    assert _recorded(root) == []


def test_revenue_drop(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, "revenue-drop")
    outcome = _run(root)
    assert _fired(outcome) == REVENUE_DROP
    for a in outcome.fired:
        f = a.firing
        assert f.severity == "warning" and f.value < f.threshold
        assert f"on {LAST}" in f.message
        assert a.deliveries == {"console": {"status": "sent", "attempts": 1, "error": None}}
    assert {(r["rule"], r["scope"], r["business_date"]) for r in _recorded(root)} == REVENUE_DROP


@pytest.mark.slow
def test_order_outage(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, "order-outage")
    outcome = _run(root)
    assert _fired(outcome) == REVENUE_DROP | {("order_floor", "total", LAST)}
    floor = next(a.firing for a in outcome.fired if a.firing.rule == "order_floor")
    assert floor.severity == "critical" and floor.value <= 3 and floor.threshold > 30


@pytest.mark.slow
def test_late_files_fire_freshness_until_they_arrive(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, "late-files")
    # day 9's order export is not there yet: it comes with day 10's files
    ledger = json.loads((history("late-files") / "_ledger.json").read_text())
    late = [f["file"] for f in ledger["files"] if f.get("delivered_at")]
    assert {f.split("/")[0] for f in late} == {"orders", "order_items", "payments"}
    for rel in late:
        (root / "landing" / rel).unlink()
    outcome = _run(root)
    # the revenue rules judge day 8, the latest with orders; freshness sees the missing export
    assert outcome.as_of == date(2026, 1, 8)
    assert _fired(outcome) == {
        ("data_freshness", "source=orders", None),
        ("file_freshness", "source=orders", None),
    }
    by_rule = {a.firing.rule: a.firing for a in outcome.fired}
    assert by_rule["file_freshness"].value == 24.0  # one nightly delivery missed
    assert by_rule["data_freshness"].value > 24
    # the next delivery brings day 10 and the late export of day 9: all is fresh again
    copy_days(history("late-files"), root / "landing", [LAST.isoformat(), "2026-01-10"])
    after = _run(root)
    assert after.as_of == date(2026, 1, 10)
    assert _fired(after) == set() and after.repeated == []
    assert len(_recorded(root)) == 2


def _channels(hook: Webhook | str, smtp: Smtp | int) -> dict[str, Any]:
    return {
        "channels": {
            "webhook": {
                "url": hook if isinstance(hook, str) else hook.url,
                "token_env": "LAKESHOP_WEBHOOK_TOKEN",
            },
            "email": {
                "host": "127.0.0.1",
                "port": smtp if isinstance(smtp, int) else smtp.port,
                "from": "lakeshop@example.com",
                "to": ["ops@example.com"],
                "user": "alerts",
                "password_env": "LAKESHOP_SMTP_PASSWORD",
                "timeout_seconds": 2,
            },
        },
        "delivery": {"retries": 2, "backoff_seconds": 0.01},
    }


def _secrets_absent(root: Path, *texts: str) -> None:
    """No secret in any table of the lakehouse nor in the given output."""
    lakehouse = Project.load(root).lakehouse()
    for name in lakehouse.tables():
        dump = json.dumps(lakehouse.read(name).to_pylist(), default=str)
        assert TOKEN not in dump and "pw-S3cret" not in dump, name
    for text in texts:
        assert TOKEN not in text and "pw-S3cret" not in text


@pytest.mark.slow
def test_alerts_are_sent_once_to_webhook_and_email(
    base: Path,
    tmp_path: Path,
    history,
    webhook: Webhook,
    smtp_server: Smtp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv("LAKESHOP_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("LAKESHOP_SMTP_PASSWORD", smtp_server.password)
    root = _day_nine(base, tmp_path, history, "revenue-drop", _channels(webhook, smtp_server))
    code, out, err = cli("--project", root, "run")
    assert code == 0, err
    assert len(webhook.requests) == 4 and len(smtp_server.messages) == 4
    assert {r["headers"]["Authorization"] for r in webhook.requests} == {f"Bearer {TOKEN}"}
    posted = {
        (r["json"]["rule"], r["json"]["scope"], r["json"]["business_date"])
        for r in webhook.requests
    }
    assert posted == {(rule, scope, str(day)) for rule, scope, day in REVENUE_DROP}
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == [
        "[lakeshop warning] revenue_drop channel=marketplace",
        "[lakeshop warning] revenue_drop channel=online",
        "[lakeshop warning] revenue_drop channel=store",
        "[lakeshop warning] revenue_drop total",
    ]
    # the run summary lists each alert with its deliveries
    assert out.count("warning alert revenue_drop") == 4
    assert out.count("console sent, webhook sent, email sent") == 4
    rows = _recorded(root)
    assert {json.dumps(json.loads(r["deliveries"]), sort_keys=True) for r in rows} == {
        json.dumps(
            {
                ch: {"attempts": 1, "error": None, "status": "sent"}
                for ch in ("console", "email", "webhook")
            },
            sort_keys=True,
        )
    }
    # a re-run of the same data, and an explicit check: nothing recorded or sent twice
    code, out, _ = cli("--project", root, "run")
    assert code == 0 and "alert" not in out
    code, out, _ = cli("--project", root, "alerts", "--check")
    assert code == 0 and "0 new, 4 already recorded" in out
    assert len(webhook.requests) == 4 and len(smtp_server.messages) == 4
    assert len(_recorded(root)) == 4
    _secrets_absent(root, out, err, caplog.text)


@pytest.mark.slow
def test_failing_channels_are_retried_recorded_and_do_not_fail_the_run(
    base: Path,
    tmp_path: Path,
    history,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv("LAKESHOP_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("LAKESHOP_SMTP_PASSWORD", "pw-S3cret-unused")
    webhook.status = 500
    root = _day_nine(base, tmp_path, history, "order-outage", _channels(webhook, free_port()))
    code, out, err = cli("--project", root, "run")
    assert code == 0, err
    assert "run " in out and " ok:" in out
    assert len(webhook.requests) == 3 * 5  # every alert tried three times
    rows = _recorded(root)
    assert len(rows) == 5
    for r in rows:
        sent = json.loads(r["deliveries"])
        assert sent["console"]["status"] == "sent"
        assert sent["webhook"] == {
            "status": "failed",
            "attempts": 3,
            "error": "HTTP 500 refused Bearer ***",
        }
        assert sent["email"]["status"] == "failed" and sent["email"]["attempts"] == 3
    assert out.count("webhook failed after 3 attempts: HTTP 500 refused Bearer ***") == 5
    # failed channels are not retried by later runs: the alert is known
    code, out, _ = cli("--project", root, "run")
    assert code == 0 and len(webhook.requests) == 15
    _secrets_absent(root, out, err, caplog.text)


def test_quarantine_rate_fires_per_table_above_its_ceiling(base: Path):
    project = Project.load(base)
    project.config.alerts.rules.quarantine_rate.max_rate = 0.005
    found = alerts.evaluate(project)
    events = system.read(project.lakehouse(), system.EVENTS).to_pylist()
    latest = max(e["run_id"] for e in events)
    expected = {
        f"table={e['table_name']}"
        for e in events
        if e["run_id"] == latest
        and e["rows_in"] >= project.config.alerts.rules.quarantine_rate.min_rows
        and e["rows_quarantined"] / e["rows_in"] > 0.005
    }
    assert expected  # the generator's 2 % defects quarantine rows in several tables
    fired = [f for f in found.firings if f.rule == "quarantine_rate"]
    assert {f.scope for f in fired} == expected
    assert all(
        f.value > f.threshold == 0.005 and f.business_date == date(2026, 1, 8) for f in fired
    )
    assert [f.rule for f in found.firings if f.rule != "quarantine_rate"] == []


def _break(root: Path, table: str) -> None:
    """Corrupt a table's latest Delta commit, so that every run reading it fails."""
    schema, name = table.split(".")
    log = sorted((root / "lakehouse" / "lakeshop" / schema / name / "_delta_log").glob("*.json"))
    log[-1].write_text("{not json\n")


@pytest.mark.slow
def test_pipeline_failure_rate(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, None)
    _break(root, "gold.customer_value")
    project = Project.load(root)
    first = api.run(project)
    assert first.summary.status == "failed"
    # two runs of which one failed: not enough runs yet (min_runs 3)
    assert [a.firing.rule for a in first.alerts.fired] == []
    second = api.run(project)
    assert second.summary.status == "failed"
    [alert] = second.alerts.fired
    f = alert.firing
    assert (f.rule, f.scope, f.severity, f.business_date) == (
        "pipeline_failure_rate",
        "total",
        "critical",
        None,
    )
    assert f.value == pytest.approx(2 / 3) and f.threshold == 0.5
    assert "2 of 3 runs failed" in f.message
    # once a day: a third failure does not notify again
    third = api.run(project)
    assert third.alerts.fired == [] and [r.rule for r in third.alerts.repeated] == [
        "pipeline_failure_rate"
    ]


@pytest.mark.slow
def test_lakeshop_alerts_lists_the_recorded_alerts(base: Path, tmp_path: Path, history):
    root = _day_nine(base, tmp_path, history, "order-outage")
    code, out, _ = cli("--project", root, "alerts")
    assert code == 0 and "no alerts recorded" in out
    _run(root)
    code, out, _ = cli("--project", root, "alerts", "--format", "json")
    listed = json.loads(out)
    assert [(r["rule"], r["scope"]) for r in listed if r["rule"] == "order_floor"] == [
        ("order_floor", "total")
    ]
    assert len(listed) == 5 and all(r["business_date"] == str(LAST) for r in listed)
    # --check as of an earlier day evaluates that day: day 8 was normal
    code, out, _ = cli("--project", root, "alerts", "--check", "--as-of", "2026-01-08")
    assert code == 0 and "alerts as of 2026-01-08: 0 new, 0 already recorded" in out


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"channels": {"webhook": {"url": "http://x", "tokenenv": "T"}}},
            "setting 'alerts.channels.webhook.tokenenv': expected a known key (url, url_env, "
            "token_env, timeout_seconds; did you mean 'token_env'?)",
        ),
        (
            {"rules": {"revenue_drop": {"threshold_pct": 150}}},
            "setting 'alerts.rules.revenue_drop.threshold_pct': expected a number < 100.0, found 150",
        ),
        (
            {"rules": {"freshness": {"sources": ["orders", "stores"]}}},
            "setting 'alerts.rules.freshness.sources.1': expected one of orders, payments, refunds, "
            "returns, clickstream, inventory, fx_rates, found 'stores'",
        ),
        (
            {"channels": {"webhook": {"token_env": "T"}}},
            "setting 'alerts.channels.webhook': expected a valid value (give exactly one of url and url_env)",
        ),
    ],
)
def test_bad_alert_settings_are_one_error_line(
    tmp_path: Path, settings: dict[str, Any], expected: str
):
    (tmp_path / "lakeshop.yml").write_text(yaml.safe_dump({"alerts": settings}))
    code, _, err = cli("--project", tmp_path, "alerts")
    assert code == 2
    assert f"lakeshop.yml: {expected}" in one_error_line(err)


@pytest.mark.slow
def test_no_alert_on_any_day_of_a_clean_30_day_history(tmp_path: Path):
    """The thresholds against weekday seasonality and small-channel noise: from the 8th day
    (a full trailing week) to the 30th, no rule fires."""
    generate(tmp_path / "landing", days=30, scale=SCALE, seed=42)
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    done = api.run(project)
    assert done.summary.status == "ok" and done.alerts.fired == []
    assert done.alerts.as_of == date(2026, 1, 30)
    for day in range(8, 31):
        found = alerts.evaluate(project, date(2026, 1, day))
        assert (found.firings, found.errors) == ([], {}), day

"""Project models in real runs: a model of each kind maintained day by day equals a full
refresh, table for table, with quarantine and accounting like the built-in tables; a broken
model fails alone (naming its file and line) while every table that does not read it runs."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from tests.app.model_files import FIVE_KINDS, five_kinds, write
from tests.conftest import assert_healthy, cli, copy_days

pytestmark = pytest.mark.slow


def tables(project: Project) -> dict[str, list[str]]:
    """Every silver and gold table and every model's (views too), rows sorted."""
    names = [n for n in project.lakehouse().tables() if n.split(".")[0] in ("silver", "gold")]
    names += [n for n in FIVE_KINDS if n not in names]
    out = {}
    for name in sorted(names):
        t = api.query(project, f"SELECT * FROM {name}")
        # when and by which run a row was written differs between the two builds
        kept = [c for c in t.column_names if c not in ("_batch_id", "_run_id")]
        # rows as text: some columns hold lists (unhashable), and text sorts any type
        out[name] = sorted(repr(tuple(r.values())) for r in t.select(kept).to_pylist())
    return out


def test_models_of_every_kind_run_incrementally_and_equal_a_full_refresh(
    retailer: Path, tmp_path: Path
):
    write_demo_config(tmp_path)
    five_kinds(tmp_path)
    project = Project.load(tmp_path)
    assert project.models.refused == {}
    assert {n: project.graph.tables[n].kind.value for n in FIVE_KINDS} == FIVE_KINDS
    first = date(2026, 1, 1)
    for i in range(4):
        copy_days(retailer, tmp_path / "landing", [(first + timedelta(days=i)).isoformat()])
        summary = api.run(project).summary
        assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    notes = {o.name: o.result for o in summary.outcomes}
    # the last day recomputed only the days it touched, and appended only new payments
    assert "recomputed" in (notes["gold.net_margin_daily"].note or ""), notes
    assert (
        0
        < notes["gold.paid"].rows_in
        < api.query(project, "SELECT count(*) AS n FROM silver.payments").column(0)[0].as_py()
    )
    incremental = tables(project)

    # quarantine and accounting as for lakeshop's own tables
    held = (
        api.query(project, "SELECT count(*) AS n FROM gold.paid__quarantine").column(0)[0].as_py()
    )
    big = api.query(project, "SELECT count(*) AS n FROM silver.payments WHERE amount >= 300")
    assert held == big.column(0)[0].as_py() > 0
    events = api.query(project, "SELECT * FROM _system.events WHERE table_name = 'gold.paid'")
    for e in events.to_pylist():
        assert e["rows_in"] == e["rows_written"] + e["rows_quarantined"] + e["rows_deduplicated"]
    checks = api.quality(project, table="gold.paid").to_pylist()
    assert {c["expectation"] for c in checks} == {"small_amount", "typed"}
    assert_healthy(project)
    # scd2: every version of a customer's tier, one current
    multi = api.query(
        project,
        "SELECT customer_id FROM gold.tier_history GROUP BY customer_id "
        "HAVING count(*) > 1 AND count(*) FILTER (WHERE is_current) = 1",
    )
    assert multi.num_rows > 0
    # the override is what runs: its columns, not the built-in's
    override = api.query(project, "SELECT * FROM gold.payment_refunds")
    assert override.column_names == ["payment_type", "payments", "refunds", "_batch_id"]

    assert api.run(project, full_refresh=True).summary.status == "ok"
    full = tables(project)
    assert set(incremental) == set(full)
    for name in sorted(full):
        only_inc = sorted(set(incremental[name]) - set(full[name]))[:2]
        only_full = sorted(set(full[name]) - set(incremental[name]))[:2]
        assert incremental[name] == full[name], (name, only_inc, only_full)
    for name in FIVE_KINDS:
        assert full[name], name


def test_a_broken_model_fails_alone_and_the_rest_runs(
    clean_retailer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # errors name files relative to the working folder
    write_demo_config(tmp_path)
    copy_days(clean_retailer, tmp_path / "landing", ["2026-01-01"])
    five_kinds(tmp_path)
    write(tmp_path, "typo", "SELECT order_id\nFROM silver.orderz\n", "kind: view\n")
    write(tmp_path, "after_typo", "SELECT * FROM gold.typo\n", "kind: view\n")
    # a fail expectation that fails: nothing committed, the file and line of the check named
    write(
        tmp_path,
        "strict",
        "SELECT order_id, status FROM silver.orders\n",
        """
        kind: materialized
        keys: [order_id]
        expectations:
          - name: all_delivered
            check: status = 'delivered'
            action: fail
        """,
    )
    write(
        tmp_path, "after_strict", "SELECT count(*) AS n FROM gold.strict\n", "kind: materialized\n"
    )
    code, out, _ = cli("--project", tmp_path, "run")
    assert code == 1
    failed = {line for line in out.splitlines() if line.startswith("failed: ")}
    assert failed == {
        "failed: gold.typo: models/typo.sql:2:6: unknown table silver.orderz; did you mean "
        "silver.orders?",
        next(f for f in failed if f.startswith("failed: gold.strict: ")),
    }, failed
    strict = next(f for f in failed if f.startswith("failed: gold.strict: "))
    assert strict.startswith(
        "failed: gold.strict: models/strict.yml:4: table gold.strict: "
        "expectation 'all_delivered' (action fail) failed on"
    )
    project = Project.load(tmp_path)
    status = {r["table"]: r for r in api.status(project).to_pylist()}
    assert status["gold.after_typo"]["last_status"] == "skipped"
    assert status["gold.after_strict"]["last_status"] == "skipped"
    assert not project.lakehouse().exists("gold.strict")
    # everything else ran: the built-ins and the models that do not read a broken one
    others = {
        n: r["last_status"]
        for n, r in status.items()
        if n not in ("gold.typo", "gold.after_typo", "gold.strict", "gold.after_strict")
    }
    assert set(others.values()) == {"ok"}, others
    assert api.query(project, "SELECT count(*) FROM gold.net_margin_daily").column(0)[0].as_py() > 0

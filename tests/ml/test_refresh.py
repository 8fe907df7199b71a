"""``ml.refresh``: ``lakeshop run`` re-scores (and retrains on its cadence) the models whose
inputs changed, as a recorded step after gold; a failure alerts and never fails the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
import yaml

from lakeshop.app import hooks
from lakeshop.app.project import Project
from lakeshop.ml import refresh, store
from lakeshop.ml.data import tables_read
from lakeshop.pipeline import system
from tests.conftest import cli


def enable(project: Project, **settings: Any) -> Project:
    """Turn ``ml.refresh`` on in the project's ``lakeshop.yml`` (with ``settings``)."""
    config = project.directory / "lakeshop.yml"
    data = yaml.safe_load(config.read_text())
    data["ml"]["refresh"] = {"enabled": True, "min_interval_minutes": 0} | settings
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Project.load(project.directory)


def deliver_more_orders(project: Project, tag: str, n: int = 25) -> int:
    """Land again ``n`` orders of the last day, with their lines, under new order ids (a late
    delivery of new orders); returns how many lines."""
    landing = project.directory / "landing"
    last = sorted((landing / "orders").glob("orders_*.csv"))[-1]
    orders = pacsv.read_csv(last, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    orders = orders.slice(0, n)
    ids = orders.column("order_id").cast(pa.string())
    items_file = landing / "order_items" / last.name.replace("orders_", "order_items_")
    items = pacsv.read_csv(items_file)
    items = items.filter(pc.is_in(items.column("order_id").cast(pa.string()), value_set=ids))

    def renamed(table: pa.Table) -> pa.Table:
        new = pc.binary_join_element_wise(table.column("order_id").cast(pa.string()), tag, "-")
        return table.set_column(table.schema.get_field_index("order_id"), "order_id", new)

    stem = last.stem  # orders_YYYY-MM-DD
    pacsv.write_csv(renamed(orders), landing / "orders" / f"{stem}_{tag}.csv")
    item_stem = items_file.stem
    pacsv.write_csv(renamed(items), landing / "order_items" / f"{item_stem}_{tag}.csv")
    return int(items.num_rows)


def ml_runs(project: Project) -> list[dict[str, Any]]:
    return sorted(store.runs(project.lakehouse()), key=lambda r: r["started_at"])


def events(project: Project, run_id: str) -> dict[str, dict[str, Any]]:
    rows = system.read(project.lakehouse(), system.EVENTS).to_pylist()
    return {r["table_name"]: r for r in rows if r["run_id"] == run_id and r["kind"] == "ml"}


def last_run_id(project: Project) -> str:
    runs = system.read(project.lakehouse(), system.RUNS).to_pylist()
    return str(max(runs, key=lambda r: r["batch_id"])["run_id"])


def test_refresh_is_off_by_default_and_its_settings_are_checked(tmp_path: Path) -> None:
    from lakeshop.app.project import write_demo_config

    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    assert project.config.ml.refresh.enabled is False
    assert project.config.ml.refresh.models == ["demand_forecast", "churn", "segments"]
    with (tmp_path / "lakeshop.yml").open("a") as fh:
        fh.write("ml:\n  refresh: {enabled: true, models: [churn, weather]}\n")
    code, _, stderr = cli("--project", tmp_path, "status")
    assert code == 2 and "ml.refresh.models" in stderr


@pytest.mark.ml
def test_run_refreshes_the_models_whose_inputs_changed(planted_copy: Project) -> None:
    project = enable(planted_copy)
    p = ["--project", project.directory]
    try:
        # the first run after enabling: nothing was ever scored, every model trains and scores
        code, out, err = cli(*p, "run")
        assert code == 0, out + err
        assert hooks.registered() == [refresh.NAME]  # the CLI installed the step
        first = last_run_id(project)
        for model in ("demand_forecast", "churn", "segments"):
            assert f"ml.{model} ok" in out, out
        runs = ml_runs(project)
        assert [(r["model"], r["action"], r["status"]) for r in runs] == [
            ("demand_forecast", "train", "ok"),
            ("demand_forecast", "score", "ok"),
            ("churn", "train", "ok"),
            ("churn", "score", "ok"),
            ("segments", "train", "ok"),
            ("segments", "score", "ok"),
        ]
        assert {r["trigger"] for r in runs} == {f"run {first}"}
        steps = events(project, first)
        assert {k: v["status"] for k, v in steps.items()} == {
            "ml.demand_forecast": "ok",
            "ml.churn": "ok",
            "ml.segments": "ok",
        }
        assert (
            steps["ml.churn"]["rows_written"]
            == project.lakehouse().read("gold.churn_scores").num_rows
        )

        # a run with nothing new: the inputs' versions are those scored, nothing is refreshed
        code, out, err = cli(*p, "run")
        assert code == 0 and "inputs unchanged since its last scoring" in out, out + err
        assert len(ml_runs(project)) == 6

        # new orders land: every model's inputs changed; churn and segments are scored with
        # their stored version (trained minutes ago), the forecast is made again
        deliver_more_orders(project, "late1")
        code, out, err = cli(*p, "run")
        assert code == 0, out + err
        second = last_run_id(project)
        new = [r for r in ml_runs(project) if r["trigger"] == f"run {second}"]
        assert [(r["model"], r["action"], r["model_version"]) for r in new] == [
            ("demand_forecast", "train", 2),
            ("demand_forecast", "score", 2),
            ("churn", "score", 1),
            ("segments", "score", 1),
        ]
        lakehouse = project.lakehouse()
        for r in new:
            if r["action"] == "score":
                read = json.loads(r["data_versions"])
                assert read == {t: lakehouse.version(t) for t in tables_read(r["model"])}
        scored = lakehouse.read("gold.churn_scores")
        assert set(scored.column("ml_run_id").to_pylist()) == {
            r["ml_run_id"] for r in new if r["model"] == "churn"
        }
        assert refresh.plan(project, "churn").action == "skip"
    finally:
        hooks.unregister(refresh.NAME)  # process-wide: the other tests run without it


@pytest.mark.ml
def test_a_failed_refresh_alerts_and_the_run_stays_ok(planted_copy: Project) -> None:
    # churn is trained at every refresh, and it cannot be: far too little history
    project = enable(planted_copy, models=["churn"], retrain_every_days=0)
    config = project.directory / "lakeshop.yml"
    data = yaml.safe_load(config.read_text())
    data["ml"]["churn"]["min_history_days"] = 5000
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        code, out, err = cli("--project", project.directory, "run")
        assert code == 0, out + err  # the data run went through: its gold is there
        assert "ml.churn failed" in out and "history" in out, out
        run_id = last_run_id(project)
        runs = system.read(project.lakehouse(), system.RUNS).to_pylist()
        assert {r["status"] for r in runs if r["run_id"] == run_id} == {"running", "ok"}
        step = events(project, run_id)["ml.churn"]
        assert step["status"] == "failed" and "history" in step["error"]
        (failed,) = ml_runs(project)
        assert (failed["action"], failed["status"], failed["trigger"]) == (
            "train",
            "failed",
            f"run {run_id}",
        )
        fired = system.read(project.lakehouse(), system.ALERTS).to_pylist()
        mine = [a for a in fired if a["rule"] == refresh.RULE]
        assert [(a["scope"], a["run_id"]) for a in mine] == [("ml.churn", run_id)]
        assert not project.lakehouse().exists("gold.churn_scores")
    finally:
        hooks.unregister(refresh.NAME)

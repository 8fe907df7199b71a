"""``lakeshop ml train|score|backtest``: tables written, versions kept and named in every
score, runs and backtests tracked with the Delta versions they read."""

from __future__ import annotations

import json

import pytest

from lakeshop.app.project import Project
from lakeshop.app.reader import query
from lakeshop.ml import store
from lakeshop.observe import report
from tests.conftest import cli, one_error_line


@pytest.mark.ml
def test_train_score_backtest_through_the_cli(planted_copy: Project) -> None:
    p = ["--project", planted_copy.directory]
    code, out, err = cli(*p, "ml", "score", "churn")
    assert code != 0 and "lakeshop ml train churn" in one_error_line(err)

    code, out, err = cli(*p, "ml", "train")
    assert code == 0, err
    assert (
        "train demand_forecast v1" in out and "train churn v1" in out and "train segments v1" in out
    )
    code, out, err = cli(*p, "ml", "train", "churn")
    assert code == 0 and "train churn v2" in out, err
    code, out, err = cli(*p, "ml", "score")
    assert code == 0, err

    def sql(text: str) -> list[dict]:
        return query(planted_copy, text).to_pylist()

    forecast = sql(
        "SELECT COUNT(*) AS n, MIN(forecast_date) AS first, MAX(forecast_date) AS last,"
        " MIN(lo <= forecast AND forecast <= hi) AS ordered, MIN(model_version) AS v"
        " FROM gold.demand_forecast"
    )[0]
    series = sql("SELECT COUNT(DISTINCT product_id) AS n FROM gold.demand_forecast")[0]["n"]
    assert forecast["n"] == series * 28 and forecast["ordered"] and forecast["v"] == 1
    assert (forecast["last"] - forecast["first"]).days == 27
    scores = sql(
        "SELECT MIN(churn_probability) AS lo, MAX(churn_probability) AS hi,"
        " COUNT(*) AS n, MIN(model_version) AS v, COUNT(DISTINCT customer_id) AS c,"
        " SUM(CASE WHEN top_reasons <> '' THEN 1 ELSE 0 END) AS reasoned"
        " FROM gold.churn_scores"
    )[0]
    assert 0 <= scores["lo"] < scores["hi"] <= 1 and scores["n"] == scores["c"] > 100
    assert scores["v"] == 2 and scores["reasoned"] > scores["n"] / 2
    segments = sql(
        "SELECT COUNT(DISTINCT cluster) AS k, COUNT(*) AS n FROM gold.customer_segments"
    )[0]
    customers = sql("SELECT COUNT(*) AS n FROM gold.customer_value")[0]["n"]
    assert segments["n"] == customers and 2 <= segments["k"] <= 8

    # an older version scores on request and says so
    code, out, err = cli(*p, "ml", "score", "churn", "--version", "1")
    assert code == 0 and "score churn v1" in out, err
    assert sql("SELECT DISTINCT model_version AS v FROM gold.churn_scores") == [{"v": 1}]
    code, out, err = cli(*p, "ml", "score", "churn", "--version", "9")
    assert code != 0 and "stored versions: 1, 2" in one_error_line(err)

    code, out, err = cli(*p, "ml", "backtest")
    assert code == 0, err
    runs = sql(
        "SELECT model, action, model_version, status, data_versions, artifact_path"
        " FROM _system.ml_runs ORDER BY started_at"
    )
    assert [(r["model"], r["action"]) for r in runs if r["status"] == "ok"][:4] == [
        ("demand_forecast", "train"),
        ("churn", "train"),
        ("segments", "train"),
        ("churn", "train"),
    ]
    assert runs[0]["status"] == "failed"  # the score before any training
    lakehouse = planted_copy.lakehouse()
    trained = [r for r in runs if r["action"] == "train"]
    for r in trained:
        versions = json.loads(r["data_versions"])
        assert versions and all(v == lakehouse.version(t) for t, v in versions.items())
    assert store.versions(lakehouse, "churn") == [1, 2]
    assert store.load(lakehouse, "churn", 1)[0] == 1
    backtests = sql(
        "SELECT model, role, COUNT(DISTINCT fold) AS folds FROM _system.ml_backtests"
        " GROUP BY ALL ORDER BY ALL"
    )
    assert backtests == [
        {"model": "churn", "role": "baseline", "folds": 5},
        {"model": "churn", "role": "model", "folds": 5},
        {"model": "demand_forecast", "role": "baseline", "folds": 5},
        {"model": "demand_forecast", "role": "model", "folds": 5},
    ]

    # the report shows forecast against actual for the top product, and the churn lift chart
    built = report.build(planted_copy)
    assert set(report.ML_CHARTS) <= set(built.rows), built.empty
    assert built.rows["chart-churn-lift"] == 2 * 10  # model and baseline, every tenth
    assert built.rows["chart-forecast-vs-actual"] > 28


def test_unknown_model_is_one_clear_line(tmp_path) -> None:
    (tmp_path / "lakeshop.yml").write_text("name: empty\n")
    code, _, err = cli("--project", tmp_path, "ml", "train", "weather")
    assert code != 0
    assert (
        one_error_line(err)
        == "error: unknown model 'weather': one of demand_forecast, churn, segments"
    )

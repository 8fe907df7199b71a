"""``lakeshop ml``'s runs logged to MLflow too: one MLflow run per row of
``_system.ml_runs`` (parameters, metrics, tags, the model as an artifact), in a SQLite
tracking database under the lakehouse; a required tracking server that refuses fails the
command in one line after the run is recorded; no password in ``lakeshop.yml``."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeshop.app.ml_config import MlflowSettings
from lakeshop.app.project import Project
from lakeshop.ml import store, tracking
from tests.conftest import cli, one_error_line

pytestmark = pytest.mark.ml


def with_mlflow(project: Project, **settings: Any) -> None:
    config = project.directory / "lakeshop.yml"
    data = yaml.safe_load(config.read_text())
    data["ml"]["mlflow"] = settings
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_model_run_is_logged_to_mlflow_under_the_lakehouse(
    planted_copy: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # MLflow's default would be ./mlruns: nothing may land here
    directory = planted_copy.directory
    for command in (("ml", "train"), ("ml", "backtest", "churn")):
        code, out, err = cli("--project", directory, *command)
        assert code == 0, out + err
    lakehouse = planted_copy.lakehouse()
    rows = store.runs(lakehouse)
    assert len(rows) == 4
    uri = tracking.tracking_uri(lakehouse, MlflowSettings())
    assert uri == f"sqlite:///{lakehouse.root / 'lakeshop' / '_mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiments = {e.name: e for e in client.search_experiments()}
    assert {"lakeshop-demand_forecast", "lakeshop-churn", "lakeshop-segments"} <= set(experiments)
    logged = {
        r.data.tags[tracking.RUN_TAG]: r
        for e in experiments.values()
        for r in client.search_runs([e.experiment_id])
    }
    assert set(logged) == {r["ml_run_id"] for r in rows}
    for row in rows:
        run = logged[row["ml_run_id"]]
        assert run.info.status == "FINISHED"
        assert experiments[f"lakeshop-{row['model']}"].experiment_id == run.info.experiment_id
        tags = run.data.tags
        assert tags["lakeshop.action"] == row["action"]
        assert tags["lakeshop.model_version"] == str(row["model_version"])
        assert json.loads(tags["lakeshop.data_versions"]) == json.loads(row["data_versions"])
        params = json.loads(row["params"])
        assert set(run.data.params) == set(params)
        assert run.data.params["seed"] == str(params["seed"])
        expected = dict(tracking._flat(json.loads(row["metrics"] or "{}")))
        assert expected, row  # every action reports metrics
        got = {k: v for k, v in run.data.metrics.items() if k != "duration_s"}
        assert set(got) == set(expected)
        assert all(math.isclose(got[k], v) or math.isnan(v) for k, v in expected.items())
        assert math.isclose(run.data.metrics["duration_s"], row["duration_s"])
        if row["action"] == "train":
            stored = [a.path for a in client.list_artifacts(run.info.run_id, "model")]
            assert stored == ["model/model.pkl"], stored
            local = client.download_artifacts(run.info.run_id, "model/model.pkl", str(tmp_path))
            assert (
                Path(local).read_bytes() == (Path(row["artifact_path"]) / "model.pkl").read_bytes()
            )
    for e in experiments.values():
        if e.name.startswith("lakeshop-"):
            assert e.artifact_location.startswith(
                (lakehouse.root / "lakeshop" / "_mlflow").as_uri()
            )
    assert not (tmp_path / "mlruns").exists() and not (directory / "mlruns").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_required_tracking_server_that_refuses_fails_in_one_line_after_the_record(
    planted_copy: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with_mlflow(planted_copy, enabled=True, tracking_uri=f"http://127.0.0.1:{free_port()}")
    code, _, err = cli("--project", planted_copy.directory, "ml", "train", "segments")
    line = one_error_line(err)
    assert code == 1 and "MLflow: the run was not logged" in line, err
    assert "it is in _system.ml_runs" in line
    rows = store.runs(Project.load(planted_copy.directory).lakehouse())
    assert [(r["model"], r["status"]) for r in rows] == [("segments", "ok")]
    # off: nothing is tried, the command passes
    with_mlflow(planted_copy, enabled=False, tracking_uri=f"http://127.0.0.1:{free_port()}")
    code, out, err = cli("--project", planted_copy.directory, "ml", "train", "segments")
    assert code == 0, out + err


def test_a_password_in_the_tracking_uri_is_refused_and_not_shown(
    planted_copy: Project,
) -> None:
    with_mlflow(planted_copy, tracking_uri="http://ada:hunter2secret@127.0.0.1:5000")
    code, _, err = cli("--project", planted_copy.directory, "ml", "train", "segments")
    line = one_error_line(err)
    assert code == 2 and "ml.mlflow.tracking_uri" in line and "MLFLOW_TRACKING_PASSWORD" in line
    assert "hunter2secret" not in err

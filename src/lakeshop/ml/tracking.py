"""Every model run of ``lakeshop ml`` logged to MLflow too (the ``mlflow`` extra).

``_system.ml_runs`` is the record lakeshop reads; MLflow is for the team that compares runs
in its UI or already tracks its models there. One MLflow experiment per model
(``lakeshop-demand_forecast`` …), one MLflow run per row of ``_system.ml_runs``: its settings
as parameters, its metrics (nested ones flattened, ``all/model/roc_auc``), tags naming the
lakeshop run, action, model version, trigger and the Delta version of each table read, the
model's stored version as the run's artifact ``model/``, and its status (``FINISHED`` or
``FAILED``).

Where: ``ml.mlflow.tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else a SQLite database under
the lakehouse (``<root>/<catalog>/<prefix>_mlflow/mlflow.db``, artifacts beside it). Credentials of a
tracking server come from the environment, as MLflow reads them (``MLFLOW_TRACKING_TOKEN`` …),
never from ``lakeshop.yml``. ``ml.mlflow.enabled``: unset logs when MLflow is installed;
``true`` requires it (a run whose logging fails fails, after its ``_system.ml_runs`` row is
written); ``false`` never logs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from lakeshop.app.ml_config import MlflowSettings
from lakeshop.core.errors import LakeshopError, first_line
from lakeshop.engines.lakehouse import Lakehouse

log = logging.getLogger("lakeshop.ml.tracking")

#: the tags of an MLflow run that say which lakeshop run it is
RUN_TAG = "lakeshop.ml_run_id"
#: characters MLflow accepts in a metric or parameter name
_NAME = re.compile(r"[^\w\-. /]")


class TrackingError(LakeshopError):
    """MLflow is required (``ml.mlflow.enabled: true``) and is missing or refused the run."""


def installed() -> bool:
    """Whether MLflow can be imported here."""
    return importlib.util.find_spec("mlflow") is not None


def tracking_uri(lakehouse: Lakehouse, settings: MlflowSettings) -> str | None:
    """Where runs are logged (see the module); None: nowhere (a lakehouse on an object store
    with no tracking server named)."""
    uri = settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    if lakehouse.remote:
        return None
    return f"sqlite:///{_folder(lakehouse) / 'mlflow.db'}"


def log_run(lakehouse: Lakehouse, settings: MlflowSettings, row: Mapping[str, Any]) -> str | None:
    """Log one row of ``_system.ml_runs`` as an MLflow run; returns its MLflow run id (None
    when MLflow is off or not installed). A failure warns, or raises when MLflow is required."""
    if settings.enabled is False or (settings.enabled is None and not installed()):
        return None
    if not installed():
        raise TrackingError(
            "ml.mlflow.enabled is true and MLflow is not installed: pip install 'lakeshop[mlflow]'"
        )
    uri = tracking_uri(lakehouse, settings)
    if uri is None:
        _failed(settings, "the lakehouse is on an object store: set ml.mlflow.tracking_uri")
        return None
    try:
        return _log(lakehouse, settings, uri, row)
    except Exception as exc:  # MLflow raises its own and the HTTP client's: one line for all
        _failed(settings, f"{type(exc).__name__}: {first_line(exc)}")
        return None


def _failed(settings: MlflowSettings, why: str) -> None:
    """Warn that a run was not logged, or raise when MLflow is required."""
    message = f"MLflow: the run was not logged ({why}); it is in _system.ml_runs"
    if settings.enabled:
        raise TrackingError(message)
    log.warning(message)


def _log(lakehouse: Lakehouse, settings: MlflowSettings, uri: str, row: Mapping[str, Any]) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    for noisy in ("mlflow", "alembic"):  # database creation and upgrades, at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri=uri)
    name = f"{settings.experiment_prefix}{row['model']}"
    found = client.get_experiment_by_name(name)
    if found is not None:
        experiment = found.experiment_id
    else:
        own = None if settings.tracking_uri or lakehouse.remote else _folder(lakehouse)
        artifacts = (own / "artifacts").as_uri() if own else None
        experiment = client.create_experiment(name, artifact_location=artifacts)
    started: datetime = row["started_at"]
    start_ms = int(started.timestamp() * 1000)
    end_ms = start_ms + int(float(row.get("duration_s") or 0) * 1000)
    tags = {
        RUN_TAG: str(row["ml_run_id"]),
        "mlflow.runName": f"{row['action']}-{row['ml_run_id']}",
        "lakeshop.action": str(row["action"]),
        "lakeshop.model_version": str(row.get("model_version")),
        "lakeshop.trigger": str(row.get("trigger") or "manual"),
        "lakeshop.data_versions": json.dumps(row.get("data_versions") or {}, sort_keys=True),
    }
    if row.get("error"):
        tags["lakeshop.error"] = str(row["error"]).strip().split("\n", 1)[0][:5000]
    run = client.create_run(experiment, start_time=start_ms, tags=tags)
    run_id: str = run.info.run_id
    params = [
        Param(_name(k), json.dumps(v, default=str) if isinstance(v, dict | list) else str(v))
        for k, v in sorted((row.get("params") or {}).items())
    ]
    metrics = [Metric(_name(k), v, end_ms, 0) for k, v in sorted(_flat(row.get("metrics") or {}))]
    if row.get("duration_s") is not None:
        metrics.append(Metric("duration_s", float(row["duration_s"]), end_ms, 0))
    client.log_batch(run_id, metrics=metrics, params=params)
    artifact = row.get("artifact_path")
    if artifact and Path(str(artifact)).is_dir():
        client.log_artifacts(run_id, str(artifact), "model")
    client.set_terminated(run_id, "FINISHED" if row.get("status") == "ok" else "FAILED", end_ms)
    return run_id


def _flat(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Numeric metrics, nested ones named by their path (``all/model/roc_auc``)."""
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}/")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield f"{prefix}{key}", float(value)


def _name(key: str) -> str:
    return _NAME.sub("_", str(key))


def _folder(lakehouse: Lakehouse) -> Path:
    folder = Path(lakehouse.root) / lakehouse.catalog / f"{lakehouse.schema_prefix}_mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

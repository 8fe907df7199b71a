"""Where models, runs and backtests are kept: artifacts under the lakehouse, ``_system.ml_runs``
and ``_system.ml_backtests``, the scored gold tables (MLflow: :mod:`lakeshop.ml.tracking`)."""

from __future__ import annotations

import json
import pickle
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakeshop.core.errors import LakeshopError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system

ML_RUNS = system.ML_RUNS
ML_BACKTESTS = system.ML_BACKTESTS
RUNS_SCHEMA = system.SCHEMAS[ML_RUNS]
BACKTESTS_SCHEMA = system.SCHEMAS[ML_BACKTESTS]


class ModelNotFound(LakeshopError):
    """No stored version of a model (train it first), or not the version asked for."""


def models_dir(lakehouse: Lakehouse) -> Path:
    """The folder holding every model's versions: ``<root>/<catalog>/<prefix>_models`` (under
    the schema prefix: a user's development models are never production's next version)."""
    return lakehouse.root / lakehouse.catalog / f"{lakehouse.schema_prefix}_models"


def versions(lakehouse: Lakehouse, model: str) -> list[int]:
    """The stored versions of ``model``, oldest first."""
    folder = models_dir(lakehouse) / model
    if not folder.is_dir():
        return []
    found = (re.fullmatch(r"v(\d+)", p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def save(lakehouse: Lakehouse, model: str, artifact: Any) -> tuple[int, Path]:
    """Store a new version of ``model`` (pickled); its number and path."""
    version = max(versions(lakehouse, model), default=0) + 1
    path = models_dir(lakehouse) / model / f"v{version}" / "model.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(artifact, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)  # a version appears whole or not at all
    return version, path


def load(lakehouse: Lakehouse, model: str, version: int | None = None) -> tuple[int, Any]:
    """A stored version of ``model`` (the latest by default) and its number."""
    known = versions(lakehouse, model)
    if not known:
        raise ModelNotFound(f"no trained {model} model: run `lakeshop ml train {model}` first")
    chosen = known[-1] if version is None else version
    if chosen not in known:
        raise ModelNotFound(
            f"{model} has no version {chosen}; stored versions: {', '.join(map(str, known))}"
        )
    path = models_dir(lakehouse) / model / f"v{chosen}" / "model.pkl"
    # artifacts are written by lakeshop itself under the lakehouse, never taken from outside
    with path.open("rb") as fh:
        return chosen, pickle.load(fh)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def record_run(lakehouse: Lakehouse, row: dict[str, Any]) -> None:
    """Append one row to ``_system.ml_runs`` (dict values stored as JSON)."""
    clean = {k: _json(v) if isinstance(v, dict) else v for k, v in row.items()}
    system.append(lakehouse, ML_RUNS, [clean])


def runs(lakehouse: Lakehouse) -> list[dict[str, Any]]:
    """The rows of ``_system.ml_runs`` (columns added since a row was written read as None;
    ``params``, ``data_versions`` and ``metrics`` as written: JSON text)."""
    rows: list[dict[str, Any]] = system.read(lakehouse, ML_RUNS).to_pylist()
    return rows


def record_backtest(
    lakehouse: Lakehouse, run_id: str, model: str, rows: list[dict[str, Any]]
) -> None:
    """Append the folds' metrics to ``_system.ml_backtests``, one row per metric."""
    now = datetime.now(UTC).replace(tzinfo=None)
    flat = [
        {
            "ml_run_id": run_id,
            "model": model,
            "fold": r["fold"],
            "cutoff": r["cutoff"],
            "role": r["role"],
            "method": r["method"],
            "metric": name,
            "value": value,
            "created_at": now,
        }
        for r in rows
        for name, value in r["metrics"].items()
    ]
    system.append(lakehouse, ML_BACKTESTS, flat)


def write_table(lakehouse: Lakehouse, name: str, table: pa.Table) -> None:
    """Replace a scored gold table whole (its schema with it)."""
    lakehouse.write(name, table, "overwrite")


def today() -> date:
    """The date of a run's start (UTC)."""
    return datetime.now(UTC).date()

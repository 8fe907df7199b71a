"""``lakeshop ml train|score|backtest``: each model's steps, tracked in ``_system.ml_runs``.

Models: ``demand_forecast`` (statistical: training fits every series and forecasts; the
stored version is that forecast with its settings), ``churn`` (the calibrated classifier,
its baseline and reasons) and ``segments`` (scaler and k-means). ``score`` writes the gold
table from a stored version (the latest by default) and says which version in each row.
Every step holds the target's writer lock while it writes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from lakeshop.app import api as app_api
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError
from lakeshop.ml import churn, forecast, metrics, segments, store, tracking
from lakeshop.ml.data import Inputs

ModelName = Literal["demand_forecast", "churn", "segments"]
MODELS: tuple[ModelName, ...] = ("demand_forecast", "churn", "segments")
OUTPUT = {
    "demand_forecast": "gold.demand_forecast",
    "churn": "gold.churn_scores",
    "segments": "gold.customer_segments",
}


@dataclass
class Step:
    """What one train, score or backtest of one model did."""

    model: str
    action: str
    ml_run_id: str
    version: int | None
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    rows: int = 0
    table: str | None = None
    backtest: list[dict[str, Any]] = field(default_factory=list)


def _require() -> None:
    """The ``ml`` extra is installed, or one clear line saying how to install it."""
    import importlib.util

    missing = [
        m for m in ("statsforecast", "sklearn", "pandas") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise LakeshopError(
            f"lakeshop ml needs the ml extra ({', '.join(missing)} missing): "
            "pip install 'lakeshop[ml]'"
        )


def _resolve(model: str | None) -> tuple[ModelName, ...]:
    _require()
    if model is None:
        return MODELS
    aliases = {"forecast": "demand_forecast", "demand": "demand_forecast", "segment": "segments"}
    name = aliases.get(model, model)
    if name not in MODELS:
        raise LakeshopError(f"unknown model '{model}': one of {', '.join(MODELS)}")
    return (name,)


def _tracked(
    project: Project,
    target: str | None,
    model: str,
    action: str,
    body: Callable[[Inputs, str], Step],
    *,
    trigger: str = "manual",
    locked: bool = False,
) -> Step:
    lakehouse = project.lakehouse(target)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    started = datetime.now(UTC).replace(tzinfo=None)
    clock = time.perf_counter()
    inputs = Inputs(project, target)
    settings = getattr(project.config.ml, "forecast" if model == "demand_forecast" else model)
    row: dict[str, Any] = {
        "ml_run_id": run_id,
        "model": model,
        "action": action,
        "started_at": started,
        "params": settings.model_dump() | {"seed": project.config.ml.seed},
        "trigger": trigger,
    }
    held = (
        nullcontext()
        if locked  # the caller holds the writer lock (the refresh after a run)
        else app_api.writer_lock_of(project, target, purpose=f"ml {action}")
    )
    with held:
        try:
            step = body(inputs, run_id)
        except Exception as exc:
            row |= {
                "status": "failed",
                "error": str(exc),
                "duration_s": time.perf_counter() - clock,
                "data_versions": dict(inputs.versions),
            }
            store.record_run(lakehouse, row)
            try:
                tracking.log_run(lakehouse, project.config.ml.mlflow, row)
            except tracking.TrackingError as missed:
                exc.add_note(str(missed))
            raise
        step.seconds = time.perf_counter() - clock
        row |= {
            "status": "ok",
            "model_version": step.version,
            "duration_s": step.seconds,
            "data_versions": dict(inputs.versions),
            "metrics": step.metrics,
            "rows_written": step.rows,
            "artifact_path": str(store.models_dir(lakehouse) / model / f"v{step.version}")
            if step.version is not None
            else None,
        }
        store.record_run(lakehouse, row)
        tracking.log_run(lakehouse, project.config.ml.mlflow, row)
    return step


def train(
    project: Project,
    model: str | None = None,
    target: str | None = None,
    *,
    trigger: str = "manual",
    locked: bool = False,
) -> list[Step]:
    """Train the model (every model by default) and store a new version of each. Takes the
    writer lock unless ``locked`` (the caller holds it); ``trigger`` goes to ``_system.ml_runs``."""
    bodies = {
        "demand_forecast": _train_forecast,
        "churn": _train_churn,
        "segments": _train_segments,
    }
    return [
        _tracked(
            project,
            target,
            m,
            "train",
            partial(bodies[m], project, target),
            trigger=trigger,
            locked=locked,
        )
        for m in _resolve(model)
    ]


def score(
    project: Project,
    model: str | None = None,
    target: str | None = None,
    version: int | None = None,
    *,
    trigger: str = "manual",
    locked: bool = False,
) -> list[Step]:
    """Write each model's gold table from a stored version (the latest by default); the
    lock and ``trigger`` as for :func:`train`."""
    bodies = {
        "demand_forecast": _score_forecast,
        "churn": _score_churn,
        "segments": _score_segments,
    }
    return [
        _tracked(
            project,
            target,
            m,
            "score",
            partial(bodies[m], project, target, version=version),
            trigger=trigger,
            locked=locked,
        )
        for m in _resolve(model)
    ]


def backtest(project: Project, model: str | None = None, target: str | None = None) -> list[Step]:
    """Rolling-origin backtests of the forecast and churn models against their baselines,
    written to ``_system.ml_backtests`` (segments have no backtest)."""
    bodies = {"demand_forecast": _backtest_forecast, "churn": _backtest_churn}
    chosen = [m for m in _resolve(model) if m in bodies]
    if not chosen:
        raise LakeshopError("segments have no backtest: backtest demand_forecast or churn")
    return [
        _tracked(project, target, m, "backtest", partial(bodies[m], project, target))
        for m in chosen
    ]


# demand forecast --------------------------------------------------------------------------


def _train_forecast(project: Project, target: str | None, inputs: Inputs, run_id: str) -> Step:
    settings = project.config.ml.forecast
    panel = forecast.panel(inputs.read("demand_daily"), settings)
    result = forecast.forecast(panel, settings)
    table = forecast.to_table(panel, result, settings.grain)
    kinds = panel.intermittent()
    artifact = {
        "settings": settings.model_dump(),
        "last_day": panel.last,
        "forecast": table,
        "data_versions": dict(inputs.versions),
    }
    version, _ = store.save(project.lakehouse(target), "demand_forecast", artifact)
    return Step(
        "demand_forecast",
        "train",
        run_id,
        version,
        0.0,
        {
            "series": len(kinds),
            "intermittent_series": int(kinds.sum()),
            "history_days": panel.days,
            "last_day": panel.last.isoformat(),
        },
    )


def _score_forecast(
    project: Project, target: str | None, inputs: Inputs, run_id: str, version: int | None
) -> Step:
    lakehouse = project.lakehouse(target)
    chosen, artifact = store.load(lakehouse, "demand_forecast", version)
    inputs.versions.update(artifact["data_versions"])  # the forecast was made from these
    table = _stamped(artifact["forecast"], chosen, run_id)
    store.write_table(lakehouse, OUTPUT["demand_forecast"], table)
    return Step(
        "demand_forecast",
        "score",
        run_id,
        chosen,
        0.0,
        rows=table.num_rows,
        table=OUTPUT["demand_forecast"],
    )


def _backtest_forecast(project: Project, target: str | None, inputs: Inputs, run_id: str) -> Step:
    ml = project.config.ml
    settings = ml.forecast
    panel = forecast.panel(inputs.read("demand_daily"), settings)
    rows = forecast.backtest(panel, settings, ml.backtest.folds, ml.backtest.step_days)
    method = f"{settings.model}+{settings.intermittent_model}"
    for r in rows:
        r["method"] = method if r["role"] == "model" else forecast.BASELINE
    store.record_backtest(project.lakehouse(target), run_id, "demand_forecast", rows)
    return Step("demand_forecast", "backtest", run_id, None, 0.0, _overall(rows), backtest=rows)


# churn --------------------------------------------------------------------------------------


def _history(inputs: Inputs) -> churn.History:
    return churn.history(inputs.read("customer_orders"), inputs.read("customer_returns"))


def _train_churn(project: Project, target: str | None, inputs: Inputs, run_id: str) -> Step:
    ml = project.config.ml
    h = _history(inputs)
    churn.check_history(h, ml.churn)
    cutoff = h.last + timedelta(days=1 - ml.churn.horizon_days)
    known, _ = churn.features(h, cutoff)
    y = churn.labels(h, cutoff, known, ml.churn.horizon_days)
    model = churn.train(h, cutoff, ml.churn, ml.seed)
    version, _ = store.save(project.lakehouse(target), "churn", model)
    return Step(
        "churn",
        "train",
        run_id,
        version,
        0.0,
        {"customers": len(y), "churn_rate": float(y.mean()), "cutoff": cutoff.isoformat()}
        | {f"calibration_{k}": v for k, v in model.calibration.items()},
    )


def _score_churn(
    project: Project, target: str | None, inputs: Inputs, run_id: str, version: int | None
) -> Step:
    ml = project.config.ml
    lakehouse = project.lakehouse(target)
    chosen, model = store.load(lakehouse, "churn", version)
    h = _history(inputs)
    as_of = h.last + timedelta(days=1)
    known, x = churn.features(h, as_of)
    p = model.predict(x)
    table = pa.table(
        {
            "customer_id": h.customers.take(pa.array(known)),
            "churn_probability": pa.array(p),
            "baseline_probability": pa.array(model.predict_baseline(x)),
            "top_reasons": model.reasons(x, ml.churn.reasons),
            "as_of": pa.array([as_of] * len(known), pa.date32()),
            "horizon_days": pa.array([ml.churn.horizon_days] * len(known), pa.int64()),
        }
    )
    table = _stamped(table, chosen, run_id)
    store.write_table(lakehouse, OUTPUT["churn"], table)
    return Step(
        "churn",
        "score",
        run_id,
        chosen,
        0.0,
        {"as_of": as_of.isoformat(), "mean_probability": float(p.mean()) if len(p) else 0.0},
        rows=table.num_rows,
        table=OUTPUT["churn"],
    )


def _backtest_churn(project: Project, target: str | None, inputs: Inputs, run_id: str) -> Step:
    ml = project.config.ml
    settings, folds, step = ml.churn, ml.backtest.folds, ml.backtest.step_days
    h = _history(inputs)
    churn.check_history(h, settings, settings.horizon_days + step * (folds - 1))
    end = h.last + timedelta(days=1)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, list[np.ndarray[Any, Any]]] = {"y": [], "model": [], "baseline": []}
    for fold in range(folds):
        test = end - timedelta(days=settings.horizon_days + step * (folds - 1 - fold))
        train_at = test - timedelta(days=settings.horizon_days)
        model = churn.train(h, train_at, settings, ml.seed)
        known, x = churn.features(h, test)
        y = churn.labels(h, test, known, settings.horizon_days)
        scores = {"model": model.predict(x), "baseline": model.predict_baseline(x)}
        pooled["y"].append(y)
        for role, s in scores.items():
            pooled[role].append(s)
            rows.append(
                _churn_row(
                    str(fold + 1), test, role, settings.learner, metrics.classification(y, s)
                )
            )
    y_all = np.concatenate(pooled["y"])
    for role in ("model", "baseline"):
        s_all = np.concatenate(pooled[role])
        rows.append(
            _churn_row("all", None, role, settings.learner, metrics.classification(y_all, s_all))
        )
    store.record_backtest(project.lakehouse(target), run_id, "churn", rows)
    return Step("churn", "backtest", run_id, None, 0.0, _overall(rows), backtest=rows)


def _churn_row(
    fold: str, cutoff: date | None, role: str, learner: str, values: dict[str, float]
) -> dict[str, Any]:
    method = learner if role == "model" else "recency"
    return {"fold": fold, "cutoff": cutoff, "role": role, "method": method, "metrics": values}


# segments -----------------------------------------------------------------------------------


def _train_segments(project: Project, target: str | None, inputs: Inputs, run_id: str) -> Step:
    ml = project.config.ml
    model = segments.fit(inputs.read("rfm"), ml.segments, ml.seed)
    version, _ = store.save(project.lakehouse(target), "segments", model)
    return Step(
        "segments",
        "train",
        run_id,
        version,
        0.0,
        {"k": model.k, "silhouette": model.silhouettes[model.k]}
        | {f"silhouette_k{k}": v for k, v in model.silhouettes.items()},
    )


def _score_segments(
    project: Project, target: str | None, inputs: Inputs, run_id: str, version: int | None
) -> Step:
    lakehouse = project.lakehouse(target)
    chosen, model = store.load(lakehouse, "segments", version)
    table = _stamped(segments.assign(model, inputs.read("rfm")), chosen, run_id)
    store.write_table(lakehouse, OUTPUT["segments"], table)
    return Step(
        "segments",
        "score",
        run_id,
        chosen,
        0.0,
        {"k": model.k},
        rows=table.num_rows,
        table=OUTPUT["segments"],
    )


# shared -------------------------------------------------------------------------------------


def _stamped(table: pa.Table, version: int, run_id: str) -> pa.Table:
    """The model version and the scoring run on every row."""
    n = table.num_rows
    return table.append_column("model_version", pa.array([version] * n, pa.int64())).append_column(
        "ml_run_id", pa.array([run_id] * n, pa.string())
    )


def _overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The 'all folds' metrics, model and baseline side by side (``baseline_<metric>``)."""
    out: dict[str, Any] = {}
    for r in rows:
        if r["fold"] == "all":
            prefix = "" if r["role"] == "model" else "baseline_"
            out |= {prefix + k: v for k, v in r["metrics"].items()}
    return out

"""Demand forecasts: on the planted seasonal series the models beat seasonal-naive (MASE),
and the panel, the metrics and the short-history refusal behave."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from lakeshop.app.ml_config import ForecastSettings
from lakeshop.app.project import Project
from lakeshop.ml import api, forecast, metrics
from lakeshop.ml.data import NotEnoughHistory


def _daily(rows: list[tuple[str, str, str, float]]) -> pa.Table:
    return pa.table(
        {
            "sales_date": pa.array([date.fromisoformat(r[0]) for r in rows], pa.date32()),
            "product_id": [r[1] for r in rows],
            "store_id": [r[2] for r in rows],
            "channel": ["store"] * len(rows),
            "units": [r[3] for r in rows],
        }
    )


def test_panel_is_dense_by_grain() -> None:
    start = date(2026, 1, 1)
    rows = [((start + timedelta(days=d)).isoformat(), "P1", "S1", 2.0) for d in range(0, 60, 2)]
    rows += [("2026-01-03", "P1", "S2", 5.0), ("2026-02-28", "P2", "S1", 1.0)]
    p = forecast.panel(_daily(rows), ForecastSettings(min_history_days=28))
    assert p.y.shape == (3, 59) and p.start == start
    assert p.keys.column("store_id").to_pylist() == ["S1", "S2", "S1"]
    assert p.y.sum() == 2.0 * 30 + 6.0
    coarse = forecast.panel(_daily(rows), ForecastSettings(grain="product", min_history_days=28))
    assert coarse.y.shape == (2, 59) and coarse.y[0, 2] == 7.0
    assert p.intermittent().tolist() == [True, True, True]  # a sale every other day: ADI 2


def test_short_history_is_refused_with_what_it_has() -> None:
    rows = [("2026-01-01", "P1", "S1", 1.0), ("2026-01-20", "P1", "S1", 1.0)]
    with pytest.raises(
        NotEnoughHistory, match=r"20 days of sales history .*min_history_days is 56"
    ):
        forecast.panel(_daily(rows), ForecastSettings())


def test_metrics_against_hand_computed_values() -> None:
    y = np.array([1.0, 2.0, 0.0, 4.0])
    f = np.array([2.0, 2.0, 0.0, 2.0])
    assert metrics.wape(y, f) == pytest.approx(3 / 7)
    assert metrics.smape(y, f) == pytest.approx(100 * (2 / 3 + 0 + 0 + 2 * 2 / 6) / 4)
    series = np.array([0, 0, 1, 1])
    assert metrics.mase(y, f, series, np.array([1.0, 2.0])) == pytest.approx((0.5 + 0.5) / 2)
    scale = metrics.seasonal_scale(
        np.array([1.0, 3.0, 2.0, 5.0, 9.0, 9.0]), np.array([0, 0, 0, 1, 1, 1]), 2, 1
    )
    assert scale.tolist() == [1.5, 2.0]


@pytest.mark.ml
def test_forecast_beats_seasonal_naive_on_the_seasonal_series(planted_copy: Project) -> None:
    (step,) = api.backtest(planted_copy, "demand_forecast")
    overall = step.metrics
    assert overall["mase"] < overall["baseline_mase"], overall
    assert overall["wape"] < overall["baseline_wape"], overall
    # per fold too: the planted weekly and yearly seasonality is no accident of one origin
    folds = {(r["fold"], r["role"]): r["metrics"]["mase"] for r in step.backtest}
    for fold in ("1", "2", "3", "4"):
        assert folds[(fold, "model")] < folds[(fold, "baseline")], folds

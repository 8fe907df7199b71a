"""Forecast and classification metrics, vectorised over numpy arrays.

Forecasts: MASE (mean absolute error over the in-sample mean absolute error of the seasonal
naive forecast, per series, averaged over the series whose scale is not zero), sMAPE (in
percent, a point where actual and forecast are both 0 counts 0) and WAPE (sum of absolute
errors over the sum of actuals). Churn: ROC AUC, PR AUC (average precision), Brier score and
the lift at the top decile (the churn rate among the 10 % scored highest over the overall
rate), and the cumulative lift at every tenth (the lift chart).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def mase(actual: Floats, forecast: Floats, series: Ints, scale: Floats) -> float:
    """Mean over series of MAE / ``scale[series]`` (series with a zero scale left out)."""
    err = np.abs(actual - forecast)
    n = len(scale)
    mae = np.bincount(series, err, n) / np.maximum(np.bincount(series, minlength=n), 1)
    present = np.bincount(series, minlength=n) > 0
    ok = present & (scale > 0)
    return float(np.mean(mae[ok] / scale[ok])) if ok.any() else float("nan")


def smape(actual: Floats, forecast: Floats) -> float:
    """Symmetric MAPE in percent (0/0 counts as 0)."""
    den = np.abs(actual) + np.abs(forecast)
    term = np.divide(2 * np.abs(actual - forecast), den, out=np.zeros_like(den), where=den > 0)
    return float(100 * term.mean()) if len(term) else float("nan")


def wape(actual: Floats, forecast: Floats) -> float:
    """Sum of absolute errors over the sum of actuals."""
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum()) / total if total > 0 else float("nan")


def seasonal_scale(y: Floats, series: Ints, n_series: int, season: int) -> Floats:
    """Per series, the mean absolute difference ``y[t] - y[t - season]`` (rows of ``y`` in
    series order, then time order): the denominator of MASE."""
    same = np.zeros(len(y), bool)
    same[season:] = series[season:] == series[:-season]
    diff = np.zeros(len(y))
    diff[season:] = np.abs(y[season:] - y[:-season])
    total = np.bincount(series[same], diff[same], n_series)
    count = np.bincount(series[same], minlength=n_series)
    return np.divide(total, count, out=np.zeros(n_series), where=count > 0)


def classification(label: Ints, score: Floats) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier score, lift at the top decile and the base rate."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    base = float(label.mean()) if len(label) else float("nan")
    if len(np.unique(label)) < 2:
        nan = float("nan")
        return {
            "roc_auc": nan,
            "pr_auc": nan,
            "brier": nan,
            "lift_top_decile": nan,
            "base_rate": base,
        }
    ranked = label[np.argsort(-score, kind="stable")]
    # cumulative lift: the churn rate among the top k tenths scored over the overall rate
    cut = np.maximum(1, (np.arange(1, 11) * len(ranked)) // 10)
    lift = np.cumsum(ranked)[cut - 1] / cut / base if base > 0 else np.full(10, np.nan)
    return {
        "roc_auc": float(roc_auc_score(label, score)),
        "pr_auc": float(average_precision_score(label, score)),
        "brier": float(brier_score_loss(label, np.clip(score, 0, 1))),
        "lift_top_decile": float(lift[0]),
        "base_rate": base,
    } | {f"cumulative_lift_{10 * (k + 1)}pct": float(lift[k]) for k in range(10)}

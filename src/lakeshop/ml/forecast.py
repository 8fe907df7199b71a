"""Daily demand forecasts per series (product × store by default) with statsforecast.

Each series is smooth or intermittent by its average demand interval (ADI, days per day with
a sale; Syntetos & Boylan's cut-off 1.32): smooth series get the configured statistical model
(AutoETS with an additive weekly season by default), intermittent ones an intermittent-demand
model (TSB by default). Every series also gets the seasonal-naive baseline. Forecasts are
bottom-up: a total over products, stores, categories or channels is the sum of its series'
forecasts, so the hierarchy reconciles by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app.ml_config import ForecastSettings
from lakeshop.ml import metrics
from lakeshop.ml.data import NotEnoughHistory

if TYPE_CHECKING:  # pandas comes with the ml extra: imported where used
    import pandas as pd

ADI_CUTOFF = 1.32
BASELINE = "SeasonalNaive"
#: the key columns of each grain (a coarser grain sums the finer one)
GRAIN_KEYS = {
    "product_store": ("product_id", "store_id", "channel"),
    "product_channel": ("product_id", "channel"),
    "product": ("product_id",),
}


@dataclass
class Panel:
    """Dense daily history: ``y[series, day]`` from ``start`` on, and each series' keys."""

    keys: pa.Table
    y: np.ndarray[Any, np.dtype[np.float64]]
    start: date

    @property
    def days(self) -> int:
        """Days of history."""
        return int(self.y.shape[1])

    @property
    def last(self) -> date:
        """The last day of history."""
        return self.start + timedelta(days=self.days - 1)

    def intermittent(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Per series: an average demand interval above the cut-off (or no sale at all)."""
        sold = (self.y > 0).sum(axis=1)
        adi = np.divide(self.days, sold, out=np.full(len(sold), np.inf), where=sold > 0)
        return np.asarray(adi > ADI_CUTOFF)

    def long(
        self, rows: np.ndarray[Any, np.dtype[np.int64]], upto: int | None = None
    ) -> pd.DataFrame:
        """statsforecast's long frame (unique_id, ds, y) of the series ``rows``."""
        import pandas as pd

        y = self.y[rows, :upto]
        n, t = y.shape
        ds = pd.date_range(self.start, periods=t, freq="D")
        return pd.DataFrame(
            {"unique_id": np.repeat(rows, t), "ds": np.tile(ds.values, n), "y": y.ravel()}
        )


def panel(daily: pa.Table, settings: ForecastSettings) -> Panel:
    """The dense panel of the configured grain from ``demand_daily`` rows (the latest
    ``history_days`` days up to the last day with a sale); refused when too short."""
    if daily.num_rows == 0:
        raise NotEnoughHistory("demand forecast: gold.fact_sales has no revenue line yet")
    dates = daily.column("sales_date").cast(pa.date32())
    last = pc.max(dates).as_py()
    first_seen = pc.min(dates).as_py()
    start = max(first_seen, last - timedelta(days=settings.history_days - 1))
    days = (last - start).days + 1
    if days < settings.min_history_days:
        raise NotEnoughHistory(
            f"demand forecast: {days} days of sales history ({first_seen} to {last}); "
            f"ml.forecast.min_history_days is {settings.min_history_days}"
        )
    keep = pc.greater_equal(dates, pa.scalar(start, pa.date32()))
    daily = daily.filter(keep)
    keys = list(GRAIN_KEYS[settings.grain])
    daily = daily.select([*keys, "sales_date", "units"])
    # one text key per row (unit separator between the parts), numbered in sorted order
    joined = pc.binary_join_element_wise(
        *(pc.fill_null(daily.column(k).cast(pa.string()), "") for k in keys), "\x1f"
    )
    unique = pc.unique(joined)
    unique = unique.take(pc.sort_indices(unique))
    series = pc.index_in(joined, value_set=unique).to_numpy().astype(np.int64)
    grouped = daily.select(keys).take(pc.index_in(unique, value_set=joined))
    day = (
        pc.days_between(pa.scalar(start, pa.date32()), daily.column("sales_date").cast(pa.date32()))
        .to_numpy()
        .astype(np.int64)
    )
    y = np.zeros((grouped.num_rows, days))
    np.add.at(y, (series, day), daily.column("units").to_numpy(zero_copy_only=False))
    return Panel(grouped, y, start)


def _models(settings: ForecastSettings, intermittent: bool) -> list[Any]:
    from statsforecast import models as m

    s = settings.season_length
    if intermittent:
        chosen = {
            "IMAPA": lambda: m.IMAPA(),
            "TSB": lambda: m.TSB(alpha_d=0.1, alpha_p=0.1),
            "CrostonOptimized": lambda: m.CrostonOptimized(),
            "CrostonClassic": lambda: m.CrostonClassic(),
        }[settings.intermittent_model]()
    else:
        chosen = {
            # additive weekly season, no trend: a fifth of the fits of ZZZ (SF 1 in a minute)
            "AutoETS": lambda: m.AutoETS(season_length=s, model="ZNA"),
            "MSTL": lambda: m.MSTL(season_length=s),
            "SeasonalES": lambda: m.SeasonalExponentialSmoothingOptimized(season_length=s),
        }[settings.model]()
    return [chosen, m.SeasonalNaive(season_length=s)]


def _name(model: Any) -> str:
    return str(model.alias)


@dataclass
class Forecast:
    """Per series and day ahead: the model's forecast, its interval and the baseline."""

    frame: pd.DataFrame  # unique_id, ds, forecast, lo, hi, baseline, model


def forecast(p: Panel, settings: ForecastSettings) -> Forecast:
    """Fit every series' model on the whole panel and forecast ``horizon`` days ahead."""
    import pandas as pd
    from statsforecast import StatsForecast

    parts = []
    kinds = p.intermittent()
    for kind in (False, True):
        rows = np.flatnonzero(kinds == kind).astype(np.int64)
        if len(rows) == 0:
            continue
        models = _models(settings, kind)
        native = not kind and settings.model in ("AutoETS", "MSTL")
        sf = StatsForecast(models=models, freq="D", n_jobs=settings.n_jobs)
        out = sf.forecast(
            df=p.long(rows), h=settings.horizon, level=[settings.level] if native else None
        )
        parts.append(_shape(out, _name(models[0]), settings.level, native))
    frame = pd.concat(parts, ignore_index=True)
    return Forecast(frame.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True))


def _shape(out: pd.DataFrame, name: str, level: int, native: bool) -> pd.DataFrame:
    """Forecast, lo, hi (native intervals, else Poisson around the forecast rate), baseline."""
    import pandas as pd

    out = out.reset_index() if "unique_id" not in out.columns else out
    mean = np.maximum(out[name].to_numpy(dtype=float), 0.0)
    if native:
        lo = np.maximum(out[f"{name}-lo-{level}"].to_numpy(dtype=float), 0.0)
        hi = np.maximum(out[f"{name}-hi-{level}"].to_numpy(dtype=float), 0.0)
    else:
        from scipy.stats import poisson

        tail = (1 - level / 100) / 2
        lo = poisson.ppf(tail, mean).astype(float)
        hi = poisson.ppf(1 - tail, mean).astype(float)
        lo, hi = np.nan_to_num(lo), np.nan_to_num(hi)
    return pd.DataFrame(
        {
            "unique_id": out["unique_id"].to_numpy(np.int64),
            "ds": out["ds"].to_numpy(),
            "forecast": mean,
            "lo": np.minimum(lo, mean),
            "hi": np.maximum(hi, mean),
            "baseline": np.maximum(out[BASELINE].to_numpy(dtype=float), 0.0),
            "model": name,
        }
    )


def backtest(p: Panel, settings: ForecastSettings, folds: int, step: int) -> list[dict[str, Any]]:
    """Rolling origin: ``folds`` cutoffs ``step`` days apart, each forecasting ``horizon``
    days; per fold and for all folds together, MASE, sMAPE and WAPE of the model (each series
    its own) and of the seasonal-naive baseline. The MASE scale of a series is its in-sample
    seasonal-naive error before the first cutoff."""
    import pandas as pd
    from statsforecast import StatsForecast

    h = settings.horizon
    need = h + step * (folds - 1) + max(settings.min_history_days, 2 * settings.season_length)
    if p.days < need:
        raise NotEnoughHistory(
            f"forecast backtest: {p.days} days of history; {folds} folds of {step} days "
            f"forecasting {h} days need at least {need}"
        )
    kinds = p.intermittent()
    parts = []
    for kind in (False, True):
        rows = np.flatnonzero(kinds == kind).astype(np.int64)
        if len(rows) == 0:
            continue
        models = _models(settings, kind)
        sf = StatsForecast(models=models, freq="D", n_jobs=settings.n_jobs)
        cv = sf.cross_validation(df=p.long(rows), h=h, n_windows=folds, step_size=step)
        cv = cv.reset_index() if "unique_id" not in cv.columns else cv
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": cv["unique_id"].to_numpy(np.int64),
                    "cutoff": cv["cutoff"].to_numpy(),
                    "y": cv["y"].to_numpy(dtype=float),
                    "model": np.maximum(cv[_name(models[0])].to_numpy(dtype=float), 0.0),
                    "baseline": np.maximum(cv[BASELINE].to_numpy(dtype=float), 0.0),
                }
            )
        )
    cv = pd.concat(parts, ignore_index=True)
    first_cut = p.days - h - step * (folds - 1)
    series = np.repeat(np.arange(len(p.y)), first_cut)
    scale = metrics.seasonal_scale(
        p.y[:, :first_cut].ravel(), series, len(p.y), settings.season_length
    )
    out: list[dict[str, Any]] = []
    cutoffs = sorted(cv["cutoff"].unique())
    for fold, cut in [(str(i + 1), c) for i, c in enumerate(cutoffs)] + [("all", None)]:
        part = cv if cut is None else cv[cv["cutoff"] == cut]
        y, sid = part["y"].to_numpy(), part["unique_id"].to_numpy(np.int64)
        for which, col in (("model", "model"), ("baseline", "baseline")):
            f = part[col].to_numpy()
            out.append(
                {
                    "fold": fold,
                    "cutoff": None if cut is None else pd.Timestamp(cut).date(),
                    "role": which,
                    "metrics": {
                        "mase": metrics.mase(y, f, sid, scale),
                        "smape": metrics.smape(y, f),
                        "wape": metrics.wape(y, f),
                        "series": float(len(np.unique(sid))),
                    },
                }
            )
    return out


def to_table(p: Panel, f: Forecast, grain: str) -> pa.Table:
    """``gold.demand_forecast`` rows: the series' keys, the day, forecast, lo, hi, model and
    the seasonal-naive baseline (model version and run added by the caller)."""
    sid = f.frame["unique_id"].to_numpy(np.int64)
    keys = p.keys.take(pa.array(sid))
    cols: dict[str, Any] = {
        "forecast_date": pa.array(f.frame["ds"].to_numpy().astype("datetime64[D]")),
    }
    for k in ("product_id", "store_id", "channel"):
        cols[k] = keys.column(k) if k in keys.column_names else pa.nulls(len(sid), pa.string())
    cols |= {
        "forecast": pa.array(f.frame["forecast"].to_numpy()),
        "lo": pa.array(f.frame["lo"].to_numpy()),
        "hi": pa.array(f.frame["hi"].to_numpy()),
        "model": pa.array(f.frame["model"].astype(str).to_numpy(), pa.string()),
        "baseline": pa.array(f.frame["baseline"].to_numpy()),
        "grain": pa.array([grain] * len(sid), pa.string()),
    }
    return pa.table(cols)

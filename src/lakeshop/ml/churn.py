"""Churn propensity: will a customer place no order in the ``horizon`` days after a cutoff?

Features are computed at a cutoff from rows dated before it only (orders placed, deliveries
made and returns booked before the cutoff), so the same function serves training (a cutoff
``horizon`` days before the last day, whose labels are known), backtests (earlier cutoffs)
and scoring (the day after the last day). The model is gradient boosting (LightGBM, or
scikit-learn's HistGradientBoosting) with isotonic calibration on a held-out quarter; the
baseline is a logistic regression on recency alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app.ml_config import ChurnSettings
from lakeshop.ml import metrics
from lakeshop.ml.data import NotEnoughHistory

LATE_DAYS = 7  # an order delivered this many days or more after it was placed is late
FEATURES = (
    "recency_days",
    "tenure_days",
    "orders_total",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "frequency_trend",
    "overdue_ratio",
    "amount_total",
    "amount_90d",
    "returns_total",
    "returns_30d",
    "returns_90d",
    "late_deliveries_total",
    "late_deliveries_30d",
    "late_deliveries_90d",
    "days_since_bad_experience",
    "mean_delivery_days",
    "online_share",
)
Matrix = npt.NDArray[np.float64]


@dataclass
class History:
    """Order and return history as arrays: customer codes and epoch days."""

    customers: pa.Array  # code -> customer_id
    o_customer: npt.NDArray[np.int64]
    o_day: npt.NDArray[np.int64]
    o_amount: Matrix
    o_delivered: npt.NDArray[np.int64]  # epoch day, -1 when not delivered
    o_online: npt.NDArray[np.bool_]
    r_customer: npt.NDArray[np.int64]
    r_day: npt.NDArray[np.int64]

    @property
    def first(self) -> date:
        """The first order day."""
        return _date(int(self.o_day.min()))

    @property
    def last(self) -> date:
        """The last order day."""
        return _date(int(self.o_day.max()))

    def before(self, cutoff: date) -> History:
        """Only what happened before ``cutoff`` (for the leakage test: features at the cutoff
        from this equal those from everything)."""
        c = _epoch(cutoff)
        o = self.o_day < c
        r = self.r_day < c
        delivered = np.where(self.o_delivered < c, self.o_delivered, -1)
        return History(
            self.customers,
            self.o_customer[o],
            self.o_day[o],
            self.o_amount[o],
            delivered[o],
            self.o_online[o],
            self.r_customer[r],
            self.r_day[r],
        )


def _epoch(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _days(col: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    arr = pc.fill_null(col.cast(pa.date32()).cast(pa.int32()), -1)
    return np.asarray(arr.to_numpy(), dtype=np.int64)


def history(orders: pa.Table, returns: pa.Table) -> History:
    """Arrays of the ``customer_orders`` and ``customer_returns`` rows."""
    if orders.num_rows == 0:
        raise NotEnoughHistory("churn: gold.fact_orders has no order of a known customer yet")
    ids = pa.chunked_array(
        [
            orders.column("customer_id").combine_chunks(),
            returns.column("customer_id").combine_chunks(),
        ]
    ).combine_chunks()
    customers = pc.unique(ids)
    customers = customers.take(pc.sort_indices(customers))

    def code(col: pa.ChunkedArray) -> npt.NDArray[np.int64]:
        codes = pc.index_in(col, value_set=customers).to_numpy(zero_copy_only=False)
        return np.asarray(codes, dtype=np.int64)

    channel = pc.fill_null(orders.column("channel"), "")
    return History(
        customers,
        code(orders.column("customer_id")),
        _days(orders.column("order_date")),
        pc.fill_null(orders.column("amount"), 0.0).to_numpy().astype(np.float64),
        _days(orders.column("delivered_date")),
        pc.not_equal(channel, "store").to_numpy(zero_copy_only=False),
        code(returns.column("customer_id")),
        _days(returns.column("return_date")),
    )


def features(h: History, cutoff: date) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Customers with an order before ``cutoff`` (codes) and their features at the cutoff,
    from rows dated before it only."""
    c = _epoch(cutoff)
    n = len(h.customers)
    o = h.o_day < c
    cust, day = h.o_customer[o], h.o_day[o]

    def count(mask: npt.NDArray[np.bool_], who: npt.NDArray[np.int64] = cust) -> Matrix:
        return np.bincount(who[mask], minlength=n).astype(np.float64)

    def since(days: int, at: npt.NDArray[np.int64] = day) -> npt.NDArray[np.bool_]:
        return np.asarray(at >= c - days)

    total = count(np.ones(len(cust), bool))
    known = np.flatnonzero(total > 0)
    last = np.full(n, -(10**9), np.int64)
    np.maximum.at(last, cust, day)
    first = np.full(n, 10**9, np.int64)
    np.minimum.at(first, cust, day)
    recency = (c - last).astype(np.float64)
    tenure = (c - first).astype(np.float64)
    o90, o30, o180 = count(since(90)), count(since(30)), count(since(180))
    recent = count(since(60)) / 60
    prior = (count(since(180)) - count(since(60))) / np.clip(np.minimum(tenure, 180) - 60, 1, None)
    gap = np.maximum(tenure, 1) / np.maximum(total, 1)
    amount = h.o_amount[o]
    amount_total = np.bincount(cust, amount, n)
    amount_90 = np.bincount(cust[since(90)], amount[since(90)], n)
    r = h.r_day < c
    r_cust, r_day = h.r_customer[r], h.r_day[r]
    returns_total = count(np.ones(len(r_cust), bool), r_cust)
    returns_90 = count(since(90, r_day), r_cust)
    delivered = h.o_delivered[o]
    seen = (delivered >= 0) & (delivered < c)  # deliveries made before the cutoff
    late = seen & (delivered - day >= LATE_DAYS)
    n_seen = count(seen)
    # the latest return or late delivery (a customer without one: as long ago as their tenure)
    bad = np.full(n, -(10**9), np.int64)
    np.maximum.at(bad, r_cust, r_day)
    np.maximum.at(bad, cust[late], delivered[late])
    since_bad = np.where(bad > -(10**9), c - bad, tenure + 1).astype(np.float64)
    delivery_days = np.bincount(cust[seen], (delivered - day)[seen], n)
    x = np.column_stack(
        [
            recency,
            tenure,
            total,
            o30,
            o90,
            o180,
            recent - prior,
            recency / gap,
            amount_total,
            amount_90,
            returns_total,
            count(since(30, r_day), r_cust),
            returns_90,
            count(late),
            count(late & (delivered >= c - 30)),
            count(late & (delivered >= c - 90)),
            since_bad,
            np.divide(delivery_days, n_seen, out=np.zeros(n), where=n_seen > 0),
            np.divide(count(h.o_online[o]), total, out=np.zeros(n), where=total > 0),
        ]
    )
    return known, x[known]


def labels(
    h: History, cutoff: date, known: npt.NDArray[np.int64], horizon: int
) -> npt.NDArray[np.int64]:
    """1 when the customer places no order in ``[cutoff, cutoff + horizon)``."""
    c = _epoch(cutoff)
    window = (h.o_day >= c) & (h.o_day < c + horizon)
    ordered = np.bincount(h.o_customer[window], minlength=len(h.customers)) > 0
    return (~ordered[known]).astype(np.int64)


def check_history(h: History, settings: ChurnSettings, extra_days: int = 0) -> None:
    """Refuse a history too short to train (labels need ``horizon_days`` after the cutoff)."""
    days = (h.last - h.first).days + 1
    need = settings.horizon_days + settings.min_history_days + extra_days
    if days < need:
        raise NotEnoughHistory(
            f"churn: {days} days of order history ({h.first} to {h.last}); a cutoff needs "
            f"ml.churn.min_history_days ({settings.min_history_days}) before it and "
            f"ml.churn.horizon_days ({settings.horizon_days}) after it"
            + (f", the backtest {extra_days} more" if extra_days else "")
        )


@dataclass
class ChurnModel:
    """A fitted churn model: the calibrated classifier, the recency-only baseline and the
    typical feature values the reasons compare against."""

    learner: str
    model: Any
    #: the boosted model before calibration: reasons are read from it, as the isotonic
    #: calibration is flat in places (it keeps the order, not every difference)
    raw: Any
    baseline: Any
    medians: Matrix
    cutoff: date
    #: metrics on the quarter held out for calibration (calibrated on it: optimistic; the
    #: backtest is the honest figure)
    calibration: dict[str, float]

    def predict(self, x: Matrix) -> Matrix:
        """Calibrated churn probabilities."""
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=np.float64)

    def predict_baseline(self, x: Matrix) -> Matrix:
        """The recency-only baseline's probabilities."""
        return np.asarray(self.baseline.predict_proba(_recency(x))[:, 1], dtype=np.float64)

    def reasons(self, x: Matrix, top: int) -> pa.Array:
        """Per customer, the features whose replacement by the typical value lowers the
        (uncalibrated) probability most, as ``name=value`` text (one predict per feature)."""
        p = self.raw.predict_proba(x)[:, 1]
        drop = np.empty_like(x)
        for j in range(x.shape[1]):
            typical = x.copy()
            typical[:, j] = self.medians[j]
            drop[:, j] = p - self.raw.predict_proba(typical)[:, 1]
        order = np.argsort(-drop, axis=1, kind="stable")[:, :top]
        names = np.array(FEATURES)[order]
        values = np.round(np.take_along_axis(x, order, axis=1), 2).astype(str)
        useful = np.take_along_axis(drop, order, axis=1) > 0
        text = np.char.add(np.char.add(names, "="), values)
        # a feature that does not raise the probability is no reason: empty, and its
        # separators folded (the join's own null skipping drops rows in pyarrow 26)
        text = np.where(useful, text, "")
        parts = [pa.array(text[:, j].tolist(), pa.string()) for j in range(text.shape[1])]
        joined = pc.binary_join_element_wise(*parts, ", ")
        return pc.utf8_trim(pc.replace_substring_regex(joined, "(, )+", ", "), ", ")


def _recency(x: Matrix) -> Matrix:
    return np.log1p(x[:, [FEATURES.index("recency_days")]])


def train(h: History, cutoff: date, settings: ChurnSettings, seed: int) -> ChurnModel:
    """Fit on the customers at ``cutoff`` and at up to ``training_cutoffs - 1`` earlier
    cutoffs ``training_every_days`` apart (each with enough history before it), stacked:
    more examples of customers going quiet, none of them seeing past its own cutoff."""
    xs, ys = [], []
    for k in range(settings.training_cutoffs):
        at = cutoff - timedelta(days=k * settings.training_every_days)
        if k and (at - h.first).days < settings.min_history_days:
            break
        known, x = features(h, at)
        xs.append(x)
        ys.append(labels(h, at, known, settings.horizon_days))
    return fit(np.vstack(xs), np.concatenate(ys), settings, seed, cutoff)


def fit(
    x: Matrix, y: npt.NDArray[np.int64], settings: ChurnSettings, seed: int, cutoff: date
) -> ChurnModel:
    """Gradient boosting calibrated (isotonic) on a held-out quarter, and the baseline."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    if len(np.unique(y)) < 2:
        raise NotEnoughHistory(
            f"churn: every customer at the cutoff {cutoff} has the same label; nothing to learn"
        )
    x_fit, x_cal, y_fit, y_cal = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    model = _learner(settings.learner, seed)
    model.fit(x_fit, y_fit)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic")
    calibrated.fit(x_cal, y_cal)
    baseline = LogisticRegression().fit(_recency(x), y)
    scores = np.asarray(calibrated.predict_proba(x_cal)[:, 1], dtype=np.float64)
    return ChurnModel(
        settings.learner,
        calibrated,
        model,
        baseline,
        np.median(x, axis=0),
        cutoff,
        metrics.classification(np.asarray(y_cal), scores),
    )


def _learner(name: str, seed: int) -> Any:
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=31,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            random_state=seed,
            # one thread: OpenMP threads spin-wait, so on a busy machine two cost 10× as long
            n_jobs=1,
            verbose=-1,
        )
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed)

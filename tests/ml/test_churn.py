"""Churn propensity: features see nothing after the cutoff, and the model finds the planted
hazard (returns, late deliveries, declining frequency) better than recency alone."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from lakeshop.app.ml_config import ChurnSettings
from lakeshop.app.project import Project
from lakeshop.ml import api, churn, metrics
from lakeshop.ml.data import Inputs, NotEnoughHistory

from .conftest import ledger

#: stated floors, on the generated retailer's planted hazard (README, Machine learning)
AUC_FLOOR = 0.85
PLANTED_AUC_FLOOR = 0.75
MARGIN_OVER_BASELINE = 0.01


def _orders(rows: list[tuple[str, str, float, str | None, str]]) -> pa.Table:
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": pa.array([date.fromisoformat(r[1]) for r in rows], pa.date32()),
            "amount": [r[2] for r in rows],
            "delivered_date": pa.array(
                [date.fromisoformat(r[3]) if r[3] else None for r in rows], pa.date32()
            ),
            "channel": [r[4] for r in rows],
        }
    )


def _returns(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.string()),
            "return_date": pa.array([date.fromisoformat(r[1]) for r in rows], pa.date32()),
            "units": pa.array([1.0] * len(rows), pa.float64()),
        }
    )


def test_features_use_no_row_after_the_cutoff() -> None:
    """Rows after the cutoff (orders, a delivery of an order placed before, a return) change
    no feature: the features at the cutoff equal those of the history cut at it."""
    cutoff = date(2026, 3, 1)
    before = [
        ("A", "2026-01-05", 10.0, "2026-01-08", "online"),
        ("A", "2026-02-20", 20.0, "2026-03-05", "online"),  # delivered after the cutoff
        ("B", "2026-02-27", 5.0, None, "store"),
    ]
    after = [
        ("A", "2026-03-02", 99.0, "2026-03-03", "online"),
        ("C", "2026-03-10", 1.0, None, "store"),
    ]
    returns_before, returns_after = [("B", "2026-02-28")], [("A", "2026-03-04")]
    full = churn.history(_orders(before + after), _returns(returns_before + returns_after))
    cut = churn.history(_orders(before), _returns(returns_before))
    known_full, x_full = churn.features(full, cutoff)
    known_cut, x_cut = churn.features(cut, cutoff)
    ids = lambda h, k: h.customers.take(pa.array(k)).to_pylist()  # noqa: E731
    assert ids(full, known_full) == ids(cut, known_cut) == ["A", "B"]  # C ordered after only
    np.testing.assert_array_equal(x_full, x_cut)
    a = dict(zip(churn.FEATURES, x_full[0], strict=True))
    # the late delivery of A's second order happens after the cutoff: not seen yet
    assert a["late_deliveries_total"] == 0 and a["recency_days"] == 9 and a["orders_total"] == 2
    # and the label looks only after it: A orders on 2 March, B never again
    assert churn.labels(full, cutoff, known_full, 60).tolist() == [0, 1]


@pytest.mark.ml
def test_leakage_on_the_generated_retailer(planted: Project) -> None:
    inputs = Inputs(planted)
    h = churn.history(inputs.read("customer_orders"), inputs.read("customer_returns"))
    cutoff = h.last - timedelta(days=45)
    known, x = churn.features(h, cutoff)
    known_cut, x_cut = churn.features(h.before(cutoff), cutoff)
    assert len(known) > 100
    np.testing.assert_array_equal(known, known_cut)
    np.testing.assert_array_equal(x, x_cut)


@pytest.mark.ml
def test_churn_beats_recency_and_finds_the_planted_hazard(planted_copy: Project) -> None:
    (step,) = api.backtest(planted_copy, "churn")
    overall = step.metrics
    assert overall["roc_auc"] >= AUC_FLOOR, overall
    assert overall["roc_auc"] >= overall["baseline_roc_auc"] + MARGIN_OVER_BASELINE, overall
    assert overall["brier"] < overall["baseline_brier"], overall
    assert overall["lift_top_decile"] > 1.5, overall
    assert len([r for r in step.backtest if r["fold"] != "all"]) == 2 * 4

    # the planted truth: customers whose hazard fired (cooling, then gone) by the end of the
    # horizon after the cutoff, from the generator's ledger, never shown to the model
    settings = planted_copy.config.ml.churn
    inputs = Inputs(planted_copy)
    h = churn.history(inputs.read("customer_orders"), inputs.read("customer_returns"))
    cutoff = h.last + timedelta(days=1 - settings.horizon_days)
    train_at = cutoff - timedelta(days=settings.horizon_days)
    model = churn.train(h, train_at, settings, 0)
    known, x = churn.features(h, cutoff)
    ids = h.customers.take(pa.array(known)).to_pylist()
    horizon_end = (cutoff + timedelta(days=settings.horizon_days)).isoformat()
    gone = {
        c["customer_id"]
        for c in ledger(planted_copy)["signals"]["churn"]["customers"]
        if c["cooling_from"] < horizon_end
    }
    planted = np.array([i in gone for i in ids], dtype=np.int64)
    assert 0 < planted.sum() < len(planted)
    auc = metrics.classification(planted, model.predict(x))["roc_auc"]
    base = metrics.classification(planted, model.predict_baseline(x))["roc_auc"]
    assert auc >= PLANTED_AUC_FLOOR and auc > base, (auc, base)


def test_too_little_history_is_refused_clearly() -> None:
    h = churn.history(
        _orders([("A", "2026-01-01", 1.0, None, "store"), ("B", "2026-02-01", 1.0, None, "store")]),
        _returns([]),
    )
    with pytest.raises(
        NotEnoughHistory,
        match=r"32 days of order history \(2026-01-01 to 2026-02-01\).*horizon_days \(60\)",
    ):
        churn.check_history(h, ChurnSettings())

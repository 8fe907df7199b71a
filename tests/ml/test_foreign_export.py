"""The ML commands on another company's data: the hand-made invoice-line export
(tests/exports/invoices), a few weeks of one online shop's sales in pounds. Segments work on
it; the forecast needs 56 days of sales and churn 88 days of orders by default, more than it
holds, and say so in one line; with a lower floor set in lakeshop.yml the forecast runs (its
backtest, four folds, still cannot)."""

from __future__ import annotations

import pytest

from lakeshop.app.project import Project
from lakeshop.app.reader import query
from tests.conftest import cli, one_error_line
from tests.retail.test_invoice_export import build


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return build(tmp_path_factory.mktemp("invoices-ml"))


@pytest.mark.ml
def test_ml_on_a_foreign_export(shop: Project) -> None:
    p = ["--project", shop.directory]
    span = query(
        shop,
        "SELECT MIN(order_date) AS a, MAX(order_date) AS b FROM gold.fact_orders",
    )
    first, last = span.column("a")[0].as_py(), span.column("b")[0].as_py()
    days = (last - first).days + 1
    sold = query(
        shop, "SELECT COUNT(DISTINCT order_date) AS n FROM gold.fact_sales WHERE is_revenue"
    )
    assert days < 88 and sold.column("n")[0].as_py() < 56  # too short for the defaults

    code, _, err = cli(*p, "ml", "train", "demand_forecast")
    assert code != 0
    line = one_error_line(err)
    assert "days of sales history" in line and "ml.forecast.min_history_days is 56" in line
    code, _, err = cli(*p, "ml", "train", "churn")
    assert code != 0
    assert f"{days} days of order history ({first} to {last})" in one_error_line(err)

    with (shop.directory / "lakeshop.yml").open("a") as fh:
        fh.write("ml: {forecast: {min_history_days: 28}}\n")
    code, out, err = cli(*p, "ml", "train", "demand_forecast")
    assert code == 0 and "train demand_forecast v1" in out, err
    code, out, err = cli(*p, "ml", "score", "demand_forecast")
    assert code == 0, err
    stores = query(shop, "SELECT DISTINCT store_id FROM gold.demand_forecast").to_pylist()
    assert stores == [{"store_id": "UK-WEB"}]
    code, _, err = cli(*p, "ml", "backtest", "demand_forecast")
    assert code != 0
    assert "4 folds of 28 days forecasting 28 days need at least 140" in one_error_line(err)

    code, out, err = cli(*p, "ml", "train", "segments")
    assert code == 0 and "train segments v1" in out, err
    code, out, err = cli(*p, "ml", "score", "segments")
    assert code == 0, err
    n = query(shop, "SELECT COUNT(*) AS n FROM gold.customer_segments").column("n")[0].as_py()
    customers = query(shop, "SELECT COUNT(*) AS n FROM gold.customer_value").column("n")[0].as_py()
    assert n == customers > 0
    # the failed trainings are tracked too, with their error
    runs = query(shop, "SELECT model, status, error FROM _system.ml_runs WHERE status = 'failed'")
    failed = sorted(runs.column("model").to_pylist())
    assert failed == ["churn", "demand_forecast", "demand_forecast"]

"""The planted ground truth for machine learning (``generate(signals=True)``): recorded in the
ledger and visible in the files it describes; without the flag nothing is planted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from datagen_helpers import load_ledger, read_source

from lakeshop.datagen import generate
from lakeshop.datagen.signals import CAUSES, COOLING_DAYS

DAYS = 45


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signals") / "landing"
    generate(out, days=DAYS, scale=0.04, seed=3, defects=0.0, signals=True)
    return out


def test_without_the_flag_no_signals_in_the_ledger(tmp_path: Path) -> None:
    generate(tmp_path, days=2, scale=0.02, seed=3, defects=0.0)
    assert "signals" not in load_ledger(tmp_path)


def test_ledger_records_every_signal(planted: Path) -> None:
    signals = load_ledger(planted)["signals"]
    assert len(signals["seasonality"]["weekly_factor_monday_first"]) == 7
    assert len(signals["categories"]) == 8
    trends = [c["trend_per_year"] for c in signals["categories"].values()]
    assert min(trends) < 0 < max(trends)
    assert all(c["promotions"] for c in signals["categories"].values())
    assert signals["intermittent_products"]
    churn = signals["churn"]["customers"]
    assert churn and {c["cause"] for c in churn} <= set(CAUSES)
    # returns and late deliveries start most coolings: the hazard depends on behaviour
    causes = Counter(c["cause"] for c in churn)
    assert causes["return"] + causes["late_delivery"] > causes["base"]


def test_gone_customers_order_no_more(planted: Path) -> None:
    churn = load_ledger(planted)["signals"]["churn"]["customers"]
    gone = {c["customer_id"]: c["gone_from"] for c in churn}
    assert gone, "some customer is gone within the days generated"
    orders = read_source(planted, "orders")
    late = [
        o
        for o in orders
        if o["customer_id"] in gone and o["order_ts"][:10] >= gone[o["customer_id"]]
    ]
    assert late == []
    cooling = [c for c in churn if c["cooling_from"] < "2026-01-20"]
    assert cooling and COOLING_DAYS == 30


def test_intermittent_products_sell_on_few_days(planted: Path) -> None:
    intermittent = set(load_ledger(planted)["signals"]["intermittent_products"])
    placed = {o["order_id"]: o["order_ts"][:10] for o in read_source(planted, "orders")}
    days_sold: dict[str, set[str]] = {}
    for line in read_source(planted, "order_items"):
        if line["product_id"] in intermittent:
            days_sold.setdefault(line["product_id"], set()).add(placed[line["order_id"]])
    sold = sorted(len(d) for d in days_sold.values())
    # on sale on about 15 % of the days: a product that sells is never seen on most days
    assert sold and sold[-1] < DAYS * 0.4

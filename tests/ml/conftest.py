"""A small retailer with planted signals (``generate(signals=True)``), run through the
pipeline once per session: the ground truth the models are tested against is its ledger."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate

DAYS = 180
START = date(2025, 7, 1)
#: the defaults but a 30-day churn horizon, so that 4 backtest folds fit in 180 days, and
#: the forecast per product (the seasonal series the ground-truth test is about)
ML_CONFIG = """
ml:
  forecast: {grain: product}
  churn: {horizon_days: 30}
  backtest: {folds: 4, step_days: 28}
"""


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The built lakehouse (read-only: copy it with ``planted_copy`` to train or score)."""
    root = tmp_path_factory.mktemp("ml-planted") / "shop"
    generate(
        root / "landing",
        days=DAYS,
        scale=0.03,
        seed=17,
        defects=0.0,
        start_date=START,
        signals=True,
    )
    write_demo_config(root)
    with (root / "lakeshop.yml").open("a") as fh:
        fh.write(ML_CONFIG)
    project = Project.load(root)
    summary = api.run(project).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    return project


@pytest.fixture
def planted_copy(planted: Project, tmp_path: Path) -> Project:
    """A copy of the planted lakehouse that a test may write to."""
    dest = tmp_path / "shop"
    shutil.copytree(planted.directory, dest, symlinks=True)
    return Project.load(dest)


def ledger(project: Project) -> dict[str, Any]:
    """The generator's ledger, with the planted signals."""
    return dict(json.loads((project.directory / "landing" / "_ledger.json").read_text()))

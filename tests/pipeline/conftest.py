"""Fixtures of the pipeline tests: a small retailer delivered day by day."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Prebuilt

#: the business days of ``small_retailer``
SMALL_DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


@pytest.fixture(scope="session")
def small_retailer(prebuilt: Prebuilt) -> Path:
    """Three days of a very small retailer with defects (read-only: copy before use)."""
    return prebuilt.retailer(days=3, scale=0.02, seed=5, defects=0.05)

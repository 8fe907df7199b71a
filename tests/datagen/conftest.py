"""Shared generated datasets for the generator tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Prebuilt


@pytest.fixture(scope="session")
def clean_run(prebuilt: Prebuilt) -> Path:
    """SF 0.05 × 6 days, no defects."""
    return prebuilt.retailer(days=6, scale=0.05, seed=7, defects=0.0)


@pytest.fixture(scope="session")
def defect_run(prebuilt: Prebuilt) -> Path:
    """SF 0.05 × 7 days with a 5 % defect rate."""
    return prebuilt.retailer(days=7, scale=0.05, seed=11, defects=0.05)

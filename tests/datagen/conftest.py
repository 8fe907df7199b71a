"""Shared generated datasets for the generator tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.datagen import generate


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SF 0.05 × 6 days, no defects."""
    out = tmp_path_factory.mktemp("clean")
    generate(out, days=6, scale=0.05, seed=7, defects=0.0)
    return out


@pytest.fixture(scope="session")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SF 0.05 × 7 days with a 5 % defect rate."""
    out = tmp_path_factory.mktemp("defects")
    generate(out, days=7, scale=0.05, seed=11, defects=0.05)
    return out

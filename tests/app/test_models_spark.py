"""Project models on Spark: the models of every kind, maintained day by day by the Spark
engine, equal a Spark full refresh and the same models built by DuckDB, table for table."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from tests.app.model_files import FIVE_KINDS, five_kinds
from tests.app.test_models_run import tables
from tests.conftest import copy_days, engine_config

pytestmark = [pytest.mark.slow, pytest.mark.spark]

DAYS = ["2026-01-01", "2026-01-02"]


def _build(retailer: Path, root: Path, engine: str) -> tuple[Project, dict[str, list[str]]]:
    engine_config(root, engine)
    five_kinds(root)
    project = Project.load(root)
    assert project.models.refused == {}
    for day in DAYS:
        copy_days(retailer, root / "landing", [day])
        summary = api.run(project).summary
        assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    return project, tables(project)


def test_models_on_spark_equal_a_full_refresh_and_duckdb(clean_retailer: Path, tmp_path: Path):
    spark, incremental = _build(clean_retailer, tmp_path / "spark", "spark")
    _, duckdb = _build(clean_retailer, tmp_path / "duckdb", "duckdb")
    assert api.run(spark, full_refresh=True).summary.status == "ok"
    full = tables(spark)
    for name in FIVE_KINDS:
        assert incremental[name], name
        assert incremental[name] == full[name], name
        assert incremental[name] == duckdb[name], name

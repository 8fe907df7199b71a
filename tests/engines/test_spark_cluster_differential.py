"""The differential test (test_spark_differential.py) with the driver of each run in a
``lakeshop`` subprocess and the executors on a standalone cluster, and through a Spark Connect
server whose driver runs on that cluster.

Fewer days than local mode, for CI's time (each mode costs minutes of cluster scheduling a
day; two days on the cluster took 14.4 min of the suite's 2-core run on 2026-12-06): the first
day in each mode, a full run of every table, bronze parsed on the executors. The SQL is the
engine's in every mode; the incremental days and the late parents' release on the third are
checked in local mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.engines.lakehouse import Lakehouse
from tests.engines.conftest import SparkMode
from tests.engines.test_spark_differential import by_duckdb, same_as_duckdb

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.cluster]

__all__ = ["by_duckdb"]  # the module-scoped fixture, built once for this file too


@pytest.mark.parametrize(
    ("spark_mode", "days"), [("cluster", 1), ("connect", 1)], indirect=["spark_mode"]
)
def test_spark_builds_the_same_lakehouse_as_duckdb(
    spark_mode: SparkMode, days: int, retailer: Path, by_duckdb: list[Lakehouse], tmp_path: Path
):
    same_as_duckdb(spark_mode, retailer, by_duckdb, tmp_path, days=days)

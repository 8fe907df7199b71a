"""The Spark twin of ``lakeshop_utc_timestamp`` (engines/spark/utc_timestamp.sql) gives what the
DuckDB macro gives: offsets, source time zones, DST gaps and overlaps (issue 16, problem 5)."""

from __future__ import annotations

from typing import Any

import pytest

from lakeshop.engines.spark.dialect import to_spark
from tests.adversarial.test_timestamps import CASES, utc_sql

pytestmark = pytest.mark.spark


def test_the_rules_on_spark(spark: Any) -> None:
    got = [r["t"] for r in spark.sql(to_spark(utc_sql(CASES))).collect()]
    assert got == [want for *_, want in CASES]

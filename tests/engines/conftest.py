"""Fixtures of the engine tests: one Spark session for the whole test session."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Any:
    """The process's Spark session (local mode), started once.

    Fails, never skips, when pyspark or Java is missing: CI has both (``./dev`` installs
    pyspark with the ``dev`` extra; Java 17 is on the machine).
    """
    from lakeshop.engines.spark.session import spark_session

    return spark_session("local[2]")

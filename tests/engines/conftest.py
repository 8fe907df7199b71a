"""Fixtures of the engine tests: one Spark session for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests import sparkcluster
from tests.sparkcluster import ConnectServer, SparkCluster


@pytest.fixture(scope="session")
def spark() -> Any:
    """The process's Spark session (local mode), started once.

    Fails, never skips, when pyspark or Java is missing: CI has both (``./dev`` installs
    pyspark with the ``dev`` extra; Java 17 is on the machine).
    """
    from lakeshop.engines.spark.session import spark_session

    return spark_session("local[2]")


@dataclass(frozen=True)
class SparkMode:
    """How a test's Spark runs: ``local`` (this process's session), ``cluster`` (a driver in a
    ``lakeshop`` subprocess, executors on a standalone cluster) or ``connect`` (a ``lakeshop``
    subprocess talking to a Spark Connect server whose driver runs on that cluster)."""

    name: str
    #: the target's ``spark:`` settings in lakeshop.yml (empty: local mode's defaults)
    settings: dict[str, Any]
    #: the environment of the ``lakeshop`` subprocess (None: run in this process)
    env: dict[str, str] | None = None
    cluster: SparkCluster | None = None


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A standalone master and two workers on loopback (pyspark's ``spark-class``), stopped
    with their executors at the end of the session. Two cores per worker: the Connect
    server's driver keeps one executor on each for its whole life."""
    cluster = sparkcluster.start_cluster(
        tmp_path_factory.mktemp("spark-cluster"), workers=2, cores=2, memory="1g"
    )
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def spark_connect(
    spark_cluster: SparkCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectServer]:
    """A Spark Connect server (pyspark's jars) whose driver runs on :func:`spark_cluster`."""
    server = sparkcluster.start_connect(
        tmp_path_factory.mktemp("spark-connect"), spark_cluster.url, env=spark_cluster.env
    )
    yield server
    server.stop()


@pytest.fixture(
    params=[
        "local",
        pytest.param("cluster", marks=pytest.mark.cluster),
        pytest.param("connect", marks=pytest.mark.cluster),
    ]
)
def spark_mode(request: pytest.FixtureRequest) -> SparkMode:
    """The engine modes a Spark test runs in (``cluster`` and ``connect`` marked ``cluster``)."""
    if request.param == "local":
        request.getfixturevalue("spark")
        return SparkMode("local", {})
    cluster: SparkCluster = request.getfixturevalue("spark_cluster")
    if request.param == "cluster":
        settings: dict[str, Any] = {"master": cluster.url, "conf": dict(sparkcluster.DRIVER_CONF)}
    else:
        server: ConnectServer = request.getfixturevalue("spark_connect")
        settings = {"connect_url": server.url}
    return SparkMode(request.param, settings, cluster.env, cluster)

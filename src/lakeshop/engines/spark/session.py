"""The process's one Spark session: created on first use with lakeshop's settings, or the
session already active (a Databricks notebook), or Spark Connect."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lakeshop.core.errors import LakeshopError, MissingDependency, first_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: settings every lakeshop Spark session gets unless the target's ``spark.conf`` overrides them
DEFAULT_CONF: dict[str, str] = {
    # few, small tasks: local mode and the test suite are dominated by per-task overhead
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    # DuckDB's semantics: invalid casts and overflows raise, TRY_CAST gives NULL
    "spark.sql.ansi.enabled": "true",
    # DuckDB's TIMESTAMP has no time zone; so is Spark's TIMESTAMP with this setting
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # DuckDB's to_json keeps NULL fields (bronze's _rescued_data)
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # table folders hold Delta data files only: no _SUCCESS markers
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.hadoop.parquet.enable.summary-metadata": "false",
}
#: local mode talks to nothing outside the machine
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "localhost",
    "spark.driver.bindAddress": "127.0.0.1",
}

_session: SparkSession | None = None


def spark_session(
    master: str = "local[2]", connect_url: str | None = None, conf: Mapping[str, Any] | None = None
) -> SparkSession:
    """The process's one Spark session, created on first use (later settings are ignored).

    ``connect_url`` (``sc://host:15002``) uses Spark Connect instead of a driver in this
    process. A session already active in the process (a Databricks notebook) is reused.
    """
    global _session
    if _session is not None:
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingDependency(
            "the spark engine needs pyspark: pip install 'lakeshop[spark]'"
        ) from exc
    settings = DEFAULT_CONF | ({} if connect_url else LOCAL_CONF if _is_local(master) else {})
    settings |= {k: _conf_value(v) for k, v in (conf or {}).items()}
    builder = SparkSession.builder.appName("lakeshop")
    builder = builder.remote(connect_url) if connect_url else builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if not connect_url and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise MissingDependency(
            "the spark engine needs Java 17 or later: no 'java' on PATH and JAVA_HOME is not set"
        )
    if not connect_url:
        # the executors' Python workers run lakeshop's parsers (bronze, engines/spark/parsing):
        # this interpreter, which has lakeshop, unless PYSPARK_PYTHON names another (a
        # cluster whose nodes keep it elsewhere); pyspark's default is any `python3` on PATH
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if not connect_url and _is_local(master):
        # the JVM resolves the host's own address before it reads any setting: keep local
        # mode on loopback from the start (a cluster's driver needs its routable address)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start, or the cluster is unreachable
        where = connect_url or master
        raise LakeshopError(f"Spark session at {where} could not start: {first_line(exc)}") from exc
    if not connect_url:
        spark.sparkContext.setLogLevel("ERROR")
    _session = spark
    return spark


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def _conf_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)

"""Writing through Delta Lake for Spark, where the session has it (Databricks, or Spark started
with Delta's jars and SQL extension); :mod:`lakeshop.engines.spark.engine` uses it when the target's
``spark.delta_writer`` is ``spark``, or ``auto`` and the session has Delta's classes.

The tables come out as the ``deltalake`` path makes them (executors write Parquet, the driver
commits it with ``deltalake``), so either writer can continue a table the other began:

- appends and whole overwrites: ``df.write.format("delta")``, with ``mergeSchema`` /
  ``overwriteSchema`` as ``deltalake``'s ``schema_mode``; Delta makes every column nullable;
- overwrites by predicate: ``replaceWhere``, the predicate transpiled to Spark's dialect;
- merges: ``MERGE INTO delta.`path```, with :data:`DELETE_FLAG` meaning what it means to
  :meth:`Lakehouse.merge`;
- commit metadata: Delta Lake for Spark lets a writer set one string per commit,
  ``commitInfo.userMetadata``; the keys ``deltalake`` writes into the commit information (run
  id, watermarks) go there as one JSON object, and :func:`commit_metadata` reads either form;
- empty commits are recorded (``skipRecordingEmptyCommits`` off): a run that found nothing new
  must still record its watermarks;
- tables keep deletion vectors off, so that lakeshop's snapshot reader (the Parquet files the
  log lists) and ``deltalake`` (ingestion, maintenance) keep reading and writing them.

Nothing here has run against Delta Lake for Spark in this repository: its jars are not
installable offline (docs/spark.md says what was tested).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import sqlglot

from lakeshop.core import sqltext
from lakeshop.core.errors import ConfigError, DeltaSparkUnavailable, LakeshopError
from lakeshop.core.sqltext import SPARK, column, ident, join_on, literal
from lakeshop.engines import registry
from lakeshop.engines.commit_info import commit_strings
from lakeshop.engines.lakehouse import DELETE_FLAG, Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: the class Delta Lake for Spark's Python API calls into: present when its jars are loaded
DELTA_CLASS = "io.delta.tables.DeltaTable"
#: the SQL extension ``MERGE INTO delta.`path``` and ``replaceWhere`` need
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
#: session settings in force while lakeshop commits through Delta Lake for Spark
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
SKIP_EMPTY_CONF = "spark.databricks.delta.skipRecordingEmptyCommits"
NO_DELETION_VECTORS = ("delta.enableDeletionVectors", "false")
#: the temporary view a merge reads its rows from
MERGE_SOURCE = "__lakeshop_merge_source"

DeltaWriter = Literal["spark", "deltalake"]


def resolve_delta_writer(
    spark: SparkSession, wanted: str, setting: str = "spark.delta_writer"
) -> DeltaWriter:
    """The writer a session uses for ``spark.delta_writer: wanted`` (``setting`` names the key
    in errors): ``auto`` uses Delta Lake for Spark when the session has it; ``spark`` is
    refused when the session lacks it, except through Spark Connect, where the server's
    classes cannot be seen and an explicit choice is trusted (Delta then fails the first
    write if it is not there)."""
    if wanted == "deltalake":
        return "deltalake"
    if wanted not in ("auto", "spark"):
        raise ConfigError(setting, "one of auto, spark, deltalake", wanted)
    missing = delta_spark_missing(spark)
    if not missing:
        return "spark"
    if wanted == "spark":
        if jvm_has_class(spark, DELTA_CLASS) is None:
            return "spark"
        raise DeltaSparkUnavailable(setting, missing)
    return "deltalake"


def delta_spark_missing(spark: SparkSession) -> str:
    """What the session lacks to write through Delta Lake for Spark ("" when nothing).

    Databricks Runtime has Delta built in. Elsewhere the SQL extension must be configured and,
    where the JVM can be asked (not through Spark Connect), :data:`DELTA_CLASS` loadable.
    """
    if os.environ.get("DATABRICKS_RUNTIME_VERSION") or _conf(
        spark, "spark.databricks.clusterUsageTags.sparkVersion"
    ):
        return ""
    lacking = []
    if jvm_has_class(spark, DELTA_CLASS) is False:
        lacking.append(f"class {DELTA_CLASS} not found")
    if DELTA_EXTENSION not in _conf(spark, "spark.sql.extensions"):
        lacking.append(f"spark.sql.extensions lacks {DELTA_EXTENSION}")
    return "; ".join(lacking)


def jvm_has_class(spark: SparkSession, name: str) -> bool | None:
    """Whether the session's JVM can load class ``name``, resolved as Delta's own Python API
    resolves it (through py4j); None when there is no JVM to ask (Spark Connect)."""
    try:
        from py4j.java_gateway import JavaClass

        node: Any = spark._jvm
    except Exception:  # Spark Connect: no py4j gateway in this process
        return None
    if node is None:
        return None
    for part in name.split("."):
        node = getattr(node, part)
    return isinstance(node, JavaClass)


class DeltaSparkWriter:
    """Commits Spark DataFrames to the lakehouse's tables with Delta Lake for Spark."""

    def __init__(self, spark: SparkSession, lakehouse: Lakehouse) -> None:
        self.spark = spark
        self.lakehouse = lakehouse

    def write(
        self,
        table: str,
        df: DataFrame,
        mode: Literal["append", "overwrite", "merge"],
        *,
        keys: list[str] | None = None,
        predicate: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """One commit of ``df`` to ``table``, ``metadata`` in its ``userMetadata``; returns the
        rows given (for a merge, the source rows, as the ``deltalake`` path counts them).

        ``df`` may be a view, computed once: the rows are counted by Delta as it writes them,
        and read from the commit's metrics.
        """
        if mode == "merge" and not keys:
            raise LakeshopError(f"table {table}: merge needs key columns")
        path = str(self.lakehouse.path(table))
        exists = self.lakehouse.exists(table)
        merged = mode == "merge" and exists
        if exists:
            self._deletion_vectors_off(table, path)
        settings = {
            SKIP_EMPTY_CONF: "false",
            USER_METADATA_CONF: json.dumps(commit_strings(metadata), sort_keys=True),
        }
        try:
            with session_conf(self.spark, settings):
                if merged:
                    flagged = DELETE_FLAG in df.columns
                    columns = [c for c in df.columns if c != DELETE_FLAG]
                    df.createOrReplaceTempView(MERGE_SOURCE)
                    try:
                        self.spark.sql(
                            merge_sql(path, MERGE_SOURCE, columns, list(keys or []), flagged)
                        )
                    finally:
                        self.spark.catalog.dropTempView(MERGE_SOURCE)
                elif mode == "merge":
                    # a new table: the rows to insert, as Lakehouse.merge does
                    if DELETE_FLAG in df.columns:
                        df = df.filter(~df[DELETE_FLAG]).drop(DELETE_FLAG)
                    self._save(path, df, "append", None, exists)
                else:
                    self._save(path, df, mode, predicate, exists)
        finally:
            self.lakehouse.forget(table)
        rows = written_rows(self.lakehouse.last_commit(table), merged)
        return int(df.count()) if rows is None else rows

    def _save(
        self,
        path: str,
        df: DataFrame,
        mode: Literal["append", "overwrite"],
        predicate: str | None,
        exists: bool,
    ) -> None:
        writer = df.write.format("delta")
        if not exists:
            writer = writer.option(*NO_DELETION_VECTORS)
        if predicate:
            writer = writer.mode("overwrite").option("replaceWhere", spark_predicate(predicate))
        elif mode == "overwrite":
            writer = writer.mode("overwrite").option("overwriteSchema", "true")
        else:
            writer = writer.mode("append").option("mergeSchema", "true")
        writer.save(path)

    def _deletion_vectors_off(self, table: str, path: str) -> None:
        """Turn deletion vectors off on a table that has them on (Databricks may enable them
        on new tables by default), before a merge or a replace writes any."""
        config = self.lakehouse.delta(table).metadata().configuration
        key, off = NO_DELETION_VECTORS
        if str(config.get(key, "false")).lower() == "true":
            setting = f"{literal(key, SPARK)} = {literal(off, SPARK)}"
            self.spark.sql(f"ALTER TABLE delta.{ident(path, SPARK)} SET TBLPROPERTIES ({setting})")


def written_rows(commit: Mapping[str, Any], merged: bool) -> int | None:
    """The rows a Delta Lake for Spark commit wrote (for a merge, its source rows), from the
    metrics in its commit information; None when it has none."""
    metrics = commit.get("operationMetrics") or {}
    value = metrics.get("numSourceRows" if merged else "numOutputRows")
    return None if value is None else int(value)


def merge_sql(path: str, source: str, columns: list[str], keys: list[str], flagged: bool) -> str:
    """``MERGE INTO delta.`path``` from view ``source`` on ``keys``: matched rows replaced,
    others inserted; with ``flagged``, source rows whose :data:`DELETE_FLAG` is true delete
    their match instead and are not inserted. Columns are listed, so the flag is not stored
    and a column the table lacks is an error (as with ``deltalake``'s merge)."""
    on = join_on(keys, "t", "s", SPARK)
    sets = ", ".join(f"{column(c, 't', SPARK)} = {column(c, 's', SPARK)}" for c in columns)
    names = sqltext.columns(columns, dialect=SPARK)
    values = sqltext.columns(columns, "s", SPARK)
    flag = column(DELETE_FLAG, "s", SPARK)
    target, view = ident(path, SPARK), ident(source, SPARK)
    lines = [f"MERGE INTO delta.{target} AS t", f"USING {view} AS s", f"ON {on}"]
    if flagged:
        lines.append(f"WHEN MATCHED AND {flag} THEN DELETE")
    lines.append(f"WHEN MATCHED THEN UPDATE SET {sets}")
    insert = f" AND NOT {flag}" if flagged else ""
    lines.append(f"WHEN NOT MATCHED{insert} THEN INSERT ({names}) VALUES ({values})")
    return "\n".join(lines)


def spark_predicate(predicate: str) -> str:
    """A DuckDB-dialect boolean expression (a predicate overwrite's) in Spark's dialect."""
    try:
        dialect = registry.capabilities("spark").sqlglot_dialect
        return sqlglot.parse_one(predicate, read="duckdb").sql(dialect=dialect)
    except sqlglot.errors.SqlglotError as exc:
        raise LakeshopError(f"predicate does not parse: {predicate}") from exc


@contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """``settings`` in force in the session for the block, the previous values restored after
    (a notebook's own session is left as it was)."""
    before = {k: _conf(spark, k, None) for k in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _conf(spark: SparkSession, key: str, default: str | None = "") -> Any:
    try:
        return spark.conf.get(key, default)
    except Exception:  # a key the session refuses to show (some Databricks settings)
        return default

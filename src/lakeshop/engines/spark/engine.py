"""The Spark engine: the same pipeline, its DuckDB-dialect SQL transpiled by SQLGlot, on PySpark.

How it maps the engine contract onto Spark (docs/spark.md says the same for users):

- **Names.** Spark temporary views cannot live in a schema, so the logical ``schema.table``
  becomes the view ``schema__table``; the rewrite is one SQLGlot rule of :func:`to_spark`,
  applied to every SQL text the pipeline hands over (written once, in DuckDB's dialect).
- **Reading Delta without Delta's jars.** A table is bound to the Parquet files of its
  snapshot, listed by ``deltalake`` from the Delta log, read with the table's schema
  (``spark.read.schema(...).parquet(*files)``). Tables this reader would misread (deletion
  vectors, column mapping, partitions: lakeshop writes none of them) are refused by name.
- **Writing.** Where the session has Delta Lake for Spark (Databricks; ``spark.delta_writer``
  ``auto`` or ``spark``), through it: :mod:`lakeshop.engines.spark.delta_writer`. Elsewhere, with
  ``deltalake``: appends and whole-table overwrites are Parquet files the executors write into
  a fresh folder inside the table's directory, committed by the driver as Delta ``add``
  actions with ``deltalake``'s transaction API (no data passes through the driver); merges
  and overwrites by predicate collect the rows as Arrow and commit them with the same
  :class:`Lakehouse` methods the DuckDB engine uses. Commit metadata (run id, watermarks)
  rides in the same commit either way, so incremental state is engine- and writer-independent.
- **Staging** materialises each staged relation once (``localCheckpoint``): later steps read
  it several times, and its plan does not carry the steps before it.
- **Bronze is parsed on the executors** (:mod:`.parsing`): the files an ingestion reads next
  are parsed together, one task each, by lakeshop's own parsers (pyarrow for CSV and
  Parquet, an embedded DuckDB for JSON lines), so bronze is byte for byte the DuckDB
  engine's; each file's rows are staged as Parquet and mapped by Spark SQL from there. The
  mapped rows are committed by the driver with ``deltalake`` (Arrow, one file at a time).

pyspark is imported only in this package, and only when the Spark engine is chosen. The
session is :mod:`.session`'s, the dialect rules are :mod:`.dialect`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import sqlglot

from lakeshop.core.errors import LakeshopError, first_line
from lakeshop.core.sqltext import ident
from lakeshop.engines import registry, storage
from lakeshop.engines.arrow_types import plain_schema
from lakeshop.engines.base import Engine, WriteMode
from lakeshop.engines.files import CsvOptions, ParsedFile
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.spark.datafiles import data_files
from lakeshop.engines.spark.delta_writer import DeltaSparkWriter, DeltaWriter, resolve_delta_writer
from lakeshop.engines.spark.dialect import to_spark, view_name
from lakeshop.engines.spark.parsing import Request, parse_on_executors, remove_staging
from lakeshop.engines.spark.schemas import arrow_schema, nullable, plain_arrow, spark_schema
from lakeshop.engines.spark.session import spark_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from lakeshop.engines.duckdb.engine import DuckDBEngine


class SparkEngine(Engine):
    """Runs the pipeline's SQL on Spark; see the module docstring for how each step maps."""

    capabilities = registry.capabilities("spark")

    def __init__(
        self,
        lakehouse: Lakehouse,
        *,
        master: str = "local[2]",
        connect_url: str | None = None,
        conf: Mapping[str, Any] | None = None,
        delta_writer: str = "auto",
        setting: str = "spark.delta_writer",
    ) -> None:
        """``delta_writer`` is the target's ``spark.delta_writer`` (``setting`` names it in
        errors): ``auto``, ``spark`` (Delta Lake for Spark, refused when the session lacks it)
        or ``deltalake``."""
        super().__init__(lakehouse)
        self.spark = spark_session(master, connect_url, conf)
        #: who commits this engine's writes, as resolved for the session
        self.delta_writer: DeltaWriter = resolve_delta_writer(self.spark, delta_writer, setting)
        self._delta_spark = (
            DeltaSparkWriter(self.spark, lakehouse) if self.delta_writer == "spark" else None
        )
        self._views: set[str] = set()
        self._staged: dict[str, DataFrame] = {}
        self._pending_views: dict[str, str] = {}
        self._parser: DuckDBEngine | None = None
        #: files parsed ahead on the executors (:meth:`parse_ahead`), by path, and their staging
        self._ahead: dict[str, ParsedFile | Exception] = {}
        self._staged_dir: Path | None = None
        self._staging_root_dir: Path | None = None

    def bind_table(
        self, name: str, where: str | None = None, *, as_name: str | None = None
    ) -> None:
        """Bind the snapshot's Parquet files, read with the Delta table's schema."""
        dt = self.lakehouse.delta(name)
        refused = _unreadable(dt)
        files = self.lakehouse.snapshot_files(name)
        if refused or files is None:
            raise LakeshopError(
                f"table {name}: the spark engine reads Delta tables without "
                f"{refused or 'deletion vectors'}; rewrite it with lakeshop (--full-refresh)"
            )
        schema = spark_schema(plain_schema(pa.schema(dt.schema().to_arrow())))
        reader = self.spark.read.schema(schema)
        df = reader.parquet(*files) if files else self.spark.createDataFrame([], schema)
        if where:
            source = f"__delta_{view_name(name)}"
            self._remember(source, df)
            df = self._sql(f"SELECT * FROM {ident(source)} WHERE {where}")
        self._remember(view_name(as_name or name), df)

    def bind_view(self, name: str, sql: str) -> None:
        """Define a view; its tables may be bound after it (resolved at first use)."""
        self._pending_views[view_name(name)] = sql
        self._resolve_views()

    def register(self, name: str, data: pa.Table) -> None:
        df = (
            self.spark.createDataFrame(data)
            if data.num_rows
            else self.spark.createDataFrame([], spark_schema(data.schema))
        )
        self._remember(name, df)

    def stage(self, name: str, sql: str) -> int:
        """Compute ``sql`` once and keep the result (executor memory, spilling to disk).

        Checkpointed, not cached: a cached relation keeps the plan of every step before it,
        and Spark walks those nested plans on every query (a run slowed to a halt).
        """
        df = self._guard(lambda: self._sql(sql).localCheckpoint(eager=True))
        rows = int(self._guard(df.count))
        old = self._staged.pop(name, None)
        self._remember(name, df)
        self._staged[name] = df
        if old is not None:
            old.unpersist()
        return rows

    def stage_view(self, name: str, sql: str) -> None:
        """A lazy temporary view: Spark plans it into the query that reads it."""
        df = self._sql(sql)
        old = self._staged.pop(name, None)
        self._remember(name, df)
        if old is not None:
            old.unpersist()

    def fetch(self, sql: str) -> pa.Table:
        return self._guard(lambda: plain_arrow(self._sql(sql).toArrow()))

    def write(
        self,
        table: str,
        relation: str,
        mode: WriteMode,
        *,
        keys: list[str] | None = None,
        predicate: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Commit a staged relation: through Delta Lake for Spark when the session has it;
        else Parquet from the executors for appends and whole overwrites, Arrow through the
        driver for merges and overwrites by predicate, committed with ``deltalake``."""
        df = self._staged.get(relation) or self.spark.table(relation)
        if self._delta_spark is not None:
            writer = self._delta_spark
            if mode != "merge" and (predicate or mode == "append"):
                df = self._conformed(table, df)
            rows: int = self._guard(
                lambda: writer.write(
                    table, df, mode, keys=keys, predicate=predicate, metadata=metadata
                )
            )
            return rows
        if mode == "merge" or predicate:
            data = self._guard(lambda: plain_arrow(df.toArrow()))
            if mode == "merge":
                if not keys:
                    raise LakeshopError(f"table {table}: merge needs key columns")
                self.lakehouse.merge(table, data, keys, metadata=metadata)
            else:
                self.lakehouse.write(
                    table, data, "overwrite", predicate=predicate, metadata=metadata
                )
            return int(data.num_rows)
        return self._write_files(
            table, df, "overwrite" if mode == "overwrite" else "append", metadata
        )

    def parse_ahead(self, paths: list[Path], format: str, options: CsvOptions) -> None:
        """Parse these files on the executors now, one task each (see :mod:`.parsing`); the
        rows of the files parsed before are dropped from staging. A lakehouse on an object
        store (refused for Spark when a project is loaded) would parse on the driver: the
        executors stage on the lakehouse's disk."""
        self._drop_staged()
        if storage.is_remote(self.lakehouse.root) or not paths:
            return
        staging = self._staging_root() / uuid.uuid4().hex
        requests = [Request(str(p), format, options) for p in paths]
        self._staged_dir = staging
        self._ahead = self._guard(lambda: parse_on_executors(self.spark, requests, staging))

    def parse(self, path: Path, format: str, options: CsvOptions) -> ParsedFile:
        """The file as parsed ahead on the executors, else parsed here, now."""
        ahead = self._ahead.pop(str(path), None)
        if ahead is None:
            return super().parse(path, format, options)
        if isinstance(ahead, Exception):
            raise ahead
        return ahead

    def register_parsed(self, name: str, parsed: ParsedFile) -> None:
        """Rows staged by the executors are read where they are; others as :meth:`register`."""
        if parsed.staged is None:
            self.register(name, parsed.rows)
        else:  # read with the schema known: Spark need not open the file to plan
            reader = self.spark.read.schema(spark_schema(parsed.rows.schema))
            self._remember(name, reader.parquet(parsed.staged))

    def parse_jsonl(self, path: str, encoding: str = "utf-8") -> ParsedFile:
        """Parsed here by an embedded DuckDB (bronze the same as the DuckDB engine's, to the
        byte): a lookup file, or a file of a lakehouse on an object store."""
        if self._parser is None:
            from lakeshop.engines.duckdb.engine import DuckDBEngine

            self._parser = DuckDBEngine(self.lakehouse, threads=1)
        return self._parser.parse_jsonl(path, encoding)

    def close(self) -> None:
        """Drop this engine's views and cached results; the session lives on (one per process)."""
        for df in self._staged.values():
            df.unpersist()
        for view in self._views:
            self.spark.catalog.dropTempView(view)
        self._staged.clear()
        self._views.clear()
        if self._parser is not None:
            self._parser.close()
            self._parser = None
        self._drop_staged()
        if self._staging_root_dir is not None:
            remove_staging(self._staging_root_dir)
            self._staging_root_dir = None

    def _staging_root(self) -> Path:
        """Where the executors stage parsed rows: beside the raw copies, on the lakehouse's
        disk (a cluster's nodes share it); what a killed run left is removed first."""
        if self._staging_root_dir is None:
            root = self.lakehouse.raw_dir.parent / f"{self.lakehouse.schema_prefix}_staging"
            remove_staging(root)
            self._staging_root_dir = root
        return self._staging_root_dir

    def _drop_staged(self) -> None:
        self._ahead = {}
        if self._staged_dir is not None:
            remove_staging(self._staged_dir)
            self._staged_dir = None

    # -- internals ---------------------------------------------------------------------------

    def _sql(self, sql: str) -> DataFrame:
        self._resolve_views()
        text = _guarded_transpile(sql)
        df: DataFrame = self._guard(lambda: self.spark.sql(text))
        return df

    def _remember(self, view: str, df: DataFrame) -> None:
        df.createOrReplaceTempView(view)
        self._views.add(view)

    def _resolve_views(self) -> None:
        """Create the pending views whose tables are bound (a view may name another view)."""
        from pyspark.errors import AnalysisException

        progress = True
        while self._pending_views and progress:
            progress = False
            for view, sql in list(self._pending_views.items()):
                try:
                    df = self.spark.sql(_guarded_transpile(sql))
                except AnalysisException:
                    continue
                del self._pending_views[view]
                self._remember(view, df)
                progress = True

    def _write_files(
        self,
        table: str,
        df: DataFrame,
        mode: Literal["append", "overwrite"],
        metadata: dict[str, Any] | None,
    ) -> int:
        """Executors write Parquet into a new folder of the table; the driver commits it."""
        schema = nullable(arrow_schema(df))
        if mode == "append" and self.lakehouse.exists(table):
            current = self.lakehouse.schema(table)
            if set(current.names) != set(schema.names):
                # new columns: Delta's schema evolution, done by deltalake on Arrow
                data = self._guard(lambda: plain_arrow(df.toArrow()))
                self.lakehouse.write(table, data, "append", metadata=metadata)
                return int(data.num_rows)
            df, schema = self._conformed(table, df), current
        folder = self.lakehouse.path(table) / f"spark-{uuid.uuid4().hex}"
        self._guard(lambda: df.write.parquet(str(folder)))
        files = data_files(folder, self.lakehouse.path(table), schema)
        self.lakehouse.add_files(table, files, schema, mode, metadata=metadata)
        return sum(f.rows for f in files)

    def _conformed(self, table: str, df: DataFrame) -> DataFrame:
        """``df`` cast to the stored table's column types, in its column order, when it has
        the same columns (the table's types win, as in deltalake's append); else as it is."""
        if not self.lakehouse.exists(table):
            return df
        current = self.lakehouse.schema(table)
        schema = nullable(arrow_schema(df))
        if set(current.names) != set(schema.names):
            return df
        return df.select(
            *[
                df[f.name].cast(spark_schema(pa.schema([f]))[0].dataType).alias(f.name)
                if f.type != schema.field(f.name).type
                else df[f.name]
                for f in current
            ]
        )

    @staticmethod
    def _guard(action: Callable[[], Any]) -> Any:
        """Run a Spark action; Spark's errors become one-line :class:`LakeshopError`.

        JVM errors PySpark does not translate (a data source's own, such as Delta Lake for
        Spark's) are named by the Java exception's first line.
        """
        from pyspark.errors import PySparkException

        try:
            return action()
        except PySparkException as exc:
            raise LakeshopError(first_line(exc)) from exc
        except Exception as exc:
            java = getattr(exc, "java_exception", None)  # py4j's Py4JJavaError
            if java is None:
                raise
            raise LakeshopError(first_line(Exception(str(java.toString())))) from exc


def _guarded_transpile(sql: str) -> str:
    try:
        return to_spark(sql)
    except sqlglot.errors.SqlglotError as exc:
        raise LakeshopError(f"SQL does not parse: {first_line(exc)}") from exc


def _unreadable(dt: Any) -> str:
    """What about a Delta table a plain Parquet scan would get wrong ("" when nothing)."""
    if "deletionVectors" in (dt.protocol().reader_features or []):
        return "deletion vectors"
    if dt.metadata().configuration.get("delta.columnMapping.mode", "none") != "none":
        return "column mapping"
    if dt.metadata().partition_columns:
        return "partition columns"
    return ""

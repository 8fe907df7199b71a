"""Bronze parsed on Spark's executors: a batch of landing files, one Spark task per file.

Each task runs lakeshop's own parser (:func:`lakeshop.engines.files.parse_file`: pyarrow for
CSV and Parquet, an embedded DuckDB for JSON lines) in an executor's Python worker, so bronze
is byte for byte the DuckDB engine's; it writes the file's rows as a Parquet file into a
staging folder and sends back only what the driver needs to judge the file: its columns, its
row count, its rejected lines (at most ``max_rejected_lines``) or the reason it was refused.
The driver then maps each file with Spark SQL over its staged rows (``spark.read.parquet``):
no parsed row passes through the driver's memory on the way in.

The executors read the landing files and write the staging folder by their paths: on a
cluster, both must be on storage every node mounts at the same path (as the lakehouse is).
The functions run on executors are module-level, pickled by reference: lakeshop must be
installed in the executors' Python (``PYSPARK_PYTHON``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshop.core.errors import LakeshopError, SourceFileError
from lakeshop.engines.files import REJECTS_SCHEMA, CsvOptions, ParsedFile, parse_file
from lakeshop.engines.spark.schemas import spark_schema

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: what a task sends back for each file
RESULT = pa.schema(
    [
        ("id", pa.int64()),
        # "" parsed; "source" refused (a SourceFileError); "missing" gone; "engine" failed
        ("failure", pa.string()),
        ("message", pa.string()),
        ("columns", pa.string()),  # JSON list
        ("rows", pa.int64()),
        ("schema", pa.binary()),  # the rows' Arrow schema, serialized
        ("rejects", pa.binary()),  # Arrow IPC stream of REJECTS_SCHEMA
    ]
)


@dataclass(frozen=True)
class Request:
    """One file to parse: its path, its format and its source's options."""

    path: str
    format: str
    options: CsvOptions


def parse_on_executors(
    spark: SparkSession, requests: list[Request], staging: Path
) -> dict[str, ParsedFile | Exception]:
    """Parse ``requests`` on the executors (one task each), their rows staged under
    ``staging``; each file's :class:`ParsedFile` (``staged``) or the error it raised, by path."""
    if not requests:
        return {}
    staging.mkdir(parents=True, exist_ok=True)
    task = _Task(requests, str(staging))
    n = len(requests)
    results = spark.range(0, n, 1, n).mapInArrow(task, spark_schema(RESULT)).toArrow()
    out: dict[str, ParsedFile | Exception] = {}
    for r in results.to_pylist():
        req = requests[r["id"]]
        out[req.path] = _outcome(req, r, staging)
    return out


def remove_staging(staging: Path) -> None:
    """Remove a staging folder and what is in it (what a killed run left, too)."""
    shutil.rmtree(staging, ignore_errors=True)


class _Task:
    """The function of the Spark tasks (a picklable object: its requests travel with it)."""

    def __init__(self, requests: list[Request], staging: str) -> None:
        self.requests, self.staging = requests, staging

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from lakeshop.engines.duckdb.engine import DuckDBEngine
        from lakeshop.engines.lakehouse import Lakehouse

        parser: DuckDBEngine | None = None

        def jsonl(path: str, encoding: str) -> ParsedFile:
            nonlocal parser
            if parser is None:  # a JSON-lines parser only where one is needed
                parser = DuckDBEngine(Lakehouse(Path(self.staging)), threads=1)
            return parser.parse_jsonl(path, encoding)

        try:
            for batch in batches:
                for i in batch.column("id").to_pylist():
                    yield pa.RecordBatch.from_pylist([self._one(i, jsonl)], schema=RESULT)
        finally:
            if parser is not None:
                parser.close()

    def _one(self, i: int, jsonl: Any) -> dict[str, Any]:
        req = self.requests[i]
        result: dict[str, Any] = {"id": i, "failure": "", "message": None}
        try:
            parsed = parse_file(Path(req.path), req.format, req.options, jsonl)
        except SourceFileError as exc:
            return result | {"failure": "source", "message": exc.reason}
        except FileNotFoundError as exc:
            return result | {"failure": "missing", "message": str(exc)}
        except LakeshopError as exc:
            return result | {"failure": "engine", "message": str(exc)}
        pq.write_table(parsed.rows, f"{self.staging}/{i}.parquet")
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, REJECTS_SCHEMA) as writer:
            writer.write_table(parsed.rejects.cast(REJECTS_SCHEMA))
        return result | {
            "columns": json.dumps(parsed.columns),
            "rows": parsed.rows.num_rows,
            "schema": parsed.rows.schema.serialize().to_pybytes(),
            "rejects": sink.getvalue().to_pybytes(),
        }


def _outcome(req: Request, r: dict[str, Any], staging: Path) -> ParsedFile | Exception:
    """A task's result for one file, as :meth:`Engine.parse` returns or raises it."""
    if r["failure"] == "source":
        return SourceFileError(req.path, r["message"])
    if r["failure"] == "missing":
        return FileNotFoundError(r["message"])
    if r["failure"]:
        return LakeshopError(r["message"])
    staged = staging / f"{r['id']}.parquet"
    rejects = pa.ipc.open_stream(r["rejects"]).read_all()
    return ParsedFile(
        rows=pa.ipc.read_schema(pa.py_buffer(r["schema"])).empty_table(),
        rejects=rejects,
        columns=json.loads(r["columns"]),
        staged=str(staged),
        staged_rows=int(r["rows"]),
    )

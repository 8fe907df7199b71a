"""The Parquet files Spark's executors write, as Delta data files with their statistics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshop.engines.lakehouse import DataFile


def data_files(folder: Path, table_dir: Path, schema: pa.Schema) -> list[DataFile]:
    """The Parquet files Spark wrote into ``folder``, with Delta statistics from their footers.

    Empty files (Spark writes one for an empty result) and checksum files are removed.
    """
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix != ".parquet":
            path.unlink()  # .crc checksums of Hadoop's local file system
            continue
        meta = pq.read_metadata(path)
        if meta.num_rows == 0:
            path.unlink()
            continue
        stat = path.stat()
        out.append(
            DataFile(
                path=path.relative_to(table_dir).as_posix(),
                size=stat.st_size,
                modified_ms=int(stat.st_mtime * 1000),
                rows=meta.num_rows,
                stats=json.dumps(_stats(meta, schema)),
            )
        )
    if not out:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _stats(meta: pq.FileMetaData, schema: pa.Schema) -> dict[str, Any]:
    """Delta file statistics: rows, and per column the null count and, for integer and date
    columns (whose Parquet statistics are exact), the minimum and maximum."""
    nulls: dict[str, int] = {}
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    exact = {f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_date32(f.type)}
    columns = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    for name in schema.names:
        if name not in columns:
            continue
        stats = [
            meta.row_group(g).column(columns[name]).statistics for g in range(meta.num_row_groups)
        ]
        if not all(s is not None and s.has_null_count for s in stats):
            continue
        nulls[name] = sum(s.null_count for s in stats if s is not None)
        if name in exact and all(s is not None and s.has_min_max for s in stats):
            lows[name] = _json_value(min(s.min for s in stats if s is not None))
            highs[name] = _json_value(max(s.max for s in stats if s is not None))
    return {
        "numRecords": meta.num_rows,
        "minValues": lows,
        "maxValues": highs,
        "nullCount": nulls,
    }


def _json_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value

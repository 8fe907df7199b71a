"""A Delta table's data files read into Arrow, one file at a time, with the table's columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshop.engines import storage


def read_file(uri: str, schema: pa.Schema, table_dir: Path) -> pa.Table:
    """One data file with ``schema``'s columns (NULL where the file predates a column)."""
    if not storage.is_remote(table_dir):
        return _columns(pq.ParquetFile(uri.removeprefix("file://")), schema)
    fs, path = storage.arrow_path(uri, table_dir)
    with fs.open_input_file(path) as fh:
        return _columns(pq.ParquetFile(fh), schema)


def _columns(parquet: pq.ParquetFile, schema: pa.Schema) -> pa.Table:
    held = set(parquet.schema_arrow.names)
    data = parquet.read(columns=[c for c in schema.names if c in held])
    return pa.table(
        [
            data.column(f.name).cast(f.type) if f.name in held else pa.nulls(data.num_rows, f.type)
            for f in schema
        ],
        schema=schema,
    )

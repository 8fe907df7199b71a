"""Helpers to read generated files in the generator tests."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv


def load_ledger(out: Path) -> dict[str, Any]:
    return json.loads((out / "_ledger.json").read_text())


def read_csv(data: bytes, handler: Any = None) -> pa.Table:
    """Read CSV bytes with every column as text (empty → null)."""
    header = data.split(b"\n", 1)[0].decode().split(",")
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=True
        ),
    )


def read_source(out: Path, source: str, upto: str | None = None) -> list[dict[str, Any]]:
    """All records of a source (clean runs), optionally only files dated <= ``upto``."""
    rows: list[dict[str, Any]] = []
    for path in sorted((out / source).iterdir()):
        if upto and date_of(path) > upto:
            continue
        if path.suffix == ".csv":
            rows += read_csv(path.read_bytes()).to_pylist()
        else:
            rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def date_of(path: Path) -> str:
    """The YYYY-MM-DD of a source file name."""
    return path.stem[len(path.parent.name) + 1 :][:10]


def read_source_file(path: Path) -> list[dict[str, Any]]:
    """All records of one clean file."""
    if path.suffix == ".csv":
        return read_csv(path.read_bytes()).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]

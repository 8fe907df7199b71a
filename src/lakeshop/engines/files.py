"""Reading landing files into text columns with Arrow, keeping every malformed line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakeshop.engines.base import REJECTS_SCHEMA, ParsedFile
from lakeshop.errors import SourceFileError


@dataclass(frozen=True)
class CsvOptions:
    """Options of a CSV source (``lakeshop.yml``: ``options:``)."""

    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    header: bool = True


def read_bytes_checked(path: Path) -> bytes:
    """Read a whole file, refusing ones that cannot hold records (empty, binary)."""
    data = path.read_bytes()
    if not data.strip():
        raise SourceFileError(str(path), "empty file (0 data bytes)")
    if b"\x00" in data[:65536]:
        raise SourceFileError(str(path), "binary content (NUL bytes): not a text file")
    return data


def decode(path: Path, data: bytes, encoding: str) -> str:
    """Decode text, naming the byte offset when the file is not in ``encoding``."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceFileError(
            str(path), f"not valid {encoding} text at byte {exc.start}; set options.encoding"
        ) from exc


def parse_csv(path: Path, options: CsvOptions) -> ParsedFile:
    """Parse a CSV file: all columns as text, malformed lines kept with their reason."""
    data = read_bytes_checked(path)
    text = decode(path, data, options.encoding).lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    header = next(csv.reader([first], delimiter=options.delimiter, quotechar=options.quote), [])
    header = [h.strip() for h in header]
    if not options.header:
        header = [f"column{i}" for i in range(len(header))]
    if not header or not any(header):
        raise SourceFileError(str(path), "no header line")
    if len(set(header)) != len(header):
        raise SourceFileError(str(path), f"duplicate column names in header: {header}")
    bad: list[tuple[int, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        reason = f"expected {row.expected_columns} columns, found {row.actual_columns}"
        bad.append((row.number or -1, row.text, reason))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(
                use_threads=False,
                column_names=header,
                skip_rows=1 if options.header else 0,
                block_size=1 << 24,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=options.delimiter,
                quote_char=options.quote,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceFileError(str(path), f"unreadable CSV: {exc}") from exc
    offset = 1 if options.header else 0
    rejected = np.array([n for n, _, _ in bad], dtype=np.int64) - offset
    rows = table.append_column("_source_row", _record_numbers(table.num_rows, rejected))
    rejects = pa.table(
        {
            "_source_row": pa.array(rejected, pa.int64()),
            "line_text": pa.array([t for _, t, _ in bad], pa.string()),
            "reason": pa.array([r for _, _, r in bad], pa.string()),
        },
        schema=REJECTS_SCHEMA,
    )
    return ParsedFile(rows=rows, rejects=rejects, columns=header)


def parse_parquet(path: Path) -> ParsedFile:
    """Read a Parquet file with every column cast to text (values kept as received)."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceFileError(str(path), f"unreadable Parquet: {exc}") from exc
    cols = {n: pc.cast(table.column(n), pa.string()) for n in table.column_names}
    rows = pa.table(cols).append_column(
        "_source_row", pa.array(np.arange(1, table.num_rows + 1), pa.int64())
    )
    return ParsedFile(rows=rows, rejects=REJECTS_SCHEMA.empty_table(), columns=table.column_names)


def split_lines(path: Path, encoding: str = "utf-8") -> pa.Table:
    """A text file as ``(_source_row, line)``, one row per non-blank physical line."""
    text = decode(path, read_bytes_checked(path), encoding).lstrip("\ufeff")
    lines = pc.list_flatten(pc.split_pattern(pa.array([text]), "\n"))
    lines = pc.utf8_rtrim(lines, "\r")
    numbers = pa.array(np.arange(1, len(lines) + 1), pa.int64())
    table = pa.table({"_source_row": numbers, "line": lines})
    return table.filter(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(lines)), 0))


def _record_numbers(good: int, rejected: np.ndarray) -> pa.Array:
    """Record numbers of the good rows: 1..good+len(rejected) without the rejected ones."""
    total = np.arange(1, good + len(rejected) + 1, dtype=np.int64)
    kept = np.setdiff1d(total, rejected, assume_unique=True) if len(rejected) else total
    return pa.array(kept[:good], pa.int64())

"""Reading landing files into text columns with Arrow, keeping every malformed line.

Conventions shared by the parsers (see ``ParsedFile``):

- ``_source_row`` of a CSV row or reject is its record number: the header is not counted, a
  quoted value spanning several lines is one record, and blank lines (empty or whitespace
  only, outside quotes) are not records: they are skipped and numbered neither as rows nor
  as rejects. In a one-column file a whitespace-only line is a value, not a blank line.
- A file whose name ends in ``.gz`` is gunzipped first (a cut-short one: ``truncated gzip``).
- A file that holds nothing but whitespace, is binary, is not in its declared encoding, or
  has an unusable header raises ``SourceFileError``; a header without data rows returns an
  empty ``ParsedFile`` (ingest records it as ``header only``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakeshop.core.errors import SourceFileError
from lakeshop.core.redact import Q, shown, without_values


@dataclass
class ParsedFile:
    """One landing file split into well-formed records and rejected lines.

    ``rows`` holds every column as text plus ``_source_row`` (1-based record number, header
    excluded); ``rejects`` holds ``_source_row``, ``line_text`` and ``reason``.
    """

    rows: pa.Table
    rejects: pa.Table
    columns: list[str] = field(default_factory=list)
    #: rows parsed elsewhere (Spark's executors) and kept in this Parquet file: ``rows`` is
    #: then empty, with the file's schema, and ``staged_rows`` counts them
    staged: str | None = None
    staged_rows: int = 0

    @property
    def num_rows(self) -> int:
        """The file's well-formed records, wherever they are kept."""
        return self.staged_rows if self.staged else self.rows.num_rows


REJECTS_SCHEMA = pa.schema(
    [("_source_row", pa.int64()), ("line_text", pa.string()), ("reason", pa.string())]
)


ROW_NUMBER = "_source_row"
_MAX_BLOCK = (1 << 31) - 1  # Arrow's block size is an int32


@dataclass(frozen=True)
class CsvOptions:
    """Options of a CSV source (``lakeshop.yml``: ``options:``)."""

    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    #: more malformed records than this and the file is refused whole (memory stays bounded)
    max_rejected_lines: int = 10_000
    #: a gzip file expanding to more than this many times its size is refused (a gzip bomb)
    max_gunzip_ratio: int = 200


#: what a gzip file may expand to whatever its ratio (small files compress very well)
GUNZIP_FLOOR = 64 << 20


class TooManyRejects(SourceFileError):
    """More malformed records than ``max_rejected_lines``: the file is refused whole."""


def read_bytes_checked(
    path: Path, encoding: str = "utf-8", max_ratio: int = CsvOptions.max_gunzip_ratio
) -> bytes:
    """Read a whole file (gunzipped when named ``*.gz``), refusing ones that cannot hold records."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceFileError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise SourceFileError(str(path), "empty file (0 bytes)")
    if path.name.lower().endswith(".gz"):
        data = _gunzip(path, data, max(len(data) * max_ratio, GUNZIP_FLOOR))
    wide = _codec_name(path, encoding).startswith(("utf-16", "utf-32"))
    if not wide and b"\x00" in data[:65536]:
        raise SourceFileError(str(path), "binary content (NUL bytes): not a text file")
    return data


def _gunzip(path: Path, data: bytes, limit: int) -> bytes:
    """Gunzip ``data``, refusing it as a gzip bomb past ``limit`` bytes (never expanded beyond)."""
    try:
        text = _bounded_gunzip(data, limit)
        if text is None:
            raise SourceFileError(
                str(path),
                f"gzip bomb: {len(data)} bytes expand beyond {limit} bytes "
                "(options.max_gunzip_ratio); refused whole",
            )
    except EOFError:
        raise SourceFileError(
            str(path), f"truncated gzip: the stream ends early ({len(data)} bytes)"
        ) from None
    except (OSError, zlib.error) as exc:
        raise SourceFileError(str(path), f"not a valid gzip file: {exc}") from exc
    if not text:
        raise SourceFileError(str(path), "empty file (0 bytes once gunzipped)")
    return text


def _bounded_gunzip(data: bytes, limit: int) -> bytes | None:
    """The gunzipped bytes (every member), or None past ``limit`` bytes."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        unzip = zlib.decompressobj(wbits=31)
        pending = rest
        while True:
            chunk = unzip.decompress(pending, 1 << 20)
            size += len(chunk)
            if size > limit:
                return None
            out.append(chunk)
            if unzip.eof:
                break
            pending = unzip.unconsumed_tail
            if not pending and not chunk:
                raise EOFError  # the input ended inside the stream
        rest = unzip.unused_data.lstrip(b"\x00")  # the next member, after any padding
    return b"".join(out)


def decode(path: Path, data: bytes, encoding: str) -> str:
    """Decode text (without a BOM), naming the byte offset when it is not in ``encoding``."""
    codec = _codec_name(path, encoding)
    if codec == "utf-8":
        codec = "utf-8-sig"  # drops a leading BOM
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise SourceFileError(
            str(path), f"not valid {encoding} text at byte {exc.start}; set options.encoding"
        ) from exc
    text = text.lstrip("\ufeff")
    if "\x00" in text[:65536]:
        raise SourceFileError(str(path), "binary content (NUL characters): not a text file")
    if not text.strip():
        raise SourceFileError(str(path), f"empty file ({len(data)} bytes of whitespace only)")
    return text


def parse_csv(path: Path, options: CsvOptions) -> ParsedFile:
    """Parse a CSV file: all columns as text, malformed records kept with their reason."""
    raw = read_bytes_checked(path, options.encoding, options.max_gunzip_ratio)
    text = decode(path, raw, options.encoding)
    del raw
    _refuse_nul(path, text)
    first, rest = _first_record(path, text, options)
    if options.header:
        header = [h.strip() for h in first]
        _check_names(path, header, "header")
    else:
        header = [f"column{i}" for i in range(1, len(first) + 1)]
        rest = text
    if not rest.strip():
        return ParsedFile(_empty_rows(header), REJECTS_SCHEMA.empty_table(), header)
    table, bad, blank = _read_records(path, rest, header, options)
    parsed = _number(table, bad, blank, header)
    cut = _open_quote_at_end(rest, options)
    return parsed if cut is None else _reject_last_row(parsed, rest[cut:])


def _refuse_nul(path: Path, text: str) -> None:
    """A NUL character anywhere makes a CSV file binary, not only in its first 64 KiB (which
    :func:`decode` checks): one deep in the file would otherwise reach bronze inside a value."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + (0 if "\n" in text else text.count("\r", 0, at)) + 1
        raise SourceFileError(
            str(path), f"binary content (a NUL character on line {line}): not a text file"
        )


def _open_quote_at_end(text: str, options: CsvOptions) -> int | None:
    """Where the record ends that a quoted value left open at the end of the file (a file cut
    short), or None. Arrow (like Python's csv) closes such a value at the end of the file.

    Exact scans cost time on heavily quoted files, so only files that end oddly are scanned:
    an odd number of quote characters, or no line end at the end.
    """
    q = options.quote
    if q not in text or (text.count(q) % 2 == 0 and text.endswith(("\n", "\r"))):
        return None
    qe, de = re.escape(q), re.escape(options.delimiter)
    # a quoted value: a quote at the start of a value, up to its closing quote or the end
    quoted = re.compile(rf"(?:^|(?<=[{de}\n\r])){qe}[^{qe}]*(?:{qe}{qe}[^{qe}]*)*({qe}?)")
    last = None
    for match in quoted.finditer(text):
        last = match
    if last is None or last.group(1) or last.end() != len(text):
        return None
    return max(text.rfind("\n", 0, last.start()), text.rfind("\r", 0, last.start())) + 1


def _reject_last_row(parsed: ParsedFile, line_text: str) -> ParsedFile:
    """The file's last record, cut short inside a quoted value, as a reject (when it parsed)."""
    rows, rejects = parsed.rows, parsed.rejects
    last_reject = max(rejects.column(ROW_NUMBER).to_pylist(), default=0)
    if rows.num_rows == 0 or rows.column(ROW_NUMBER)[-1].as_py() < last_reject:
        return parsed  # already rejected (wrong number of values)
    number = rows.column(ROW_NUMBER)[-1].as_py()
    reject = pa.table(
        {
            ROW_NUMBER: pa.array([number], pa.int64()),
            "line_text": pa.array([line_text], pa.string()),
            "reason": pa.array(["quoted value not closed at end of file (file cut short?)"]),
        },
        schema=REJECTS_SCHEMA,
    )
    return ParsedFile(
        rows=rows.slice(0, rows.num_rows - 1),
        rejects=pa.concat_tables([rejects, reject]),
        columns=parsed.columns,
    )


def _first_record(path: Path, text: str, options: CsvOptions) -> tuple[list[str], str]:
    """The first record (header or first data row) and the text after it."""
    buf = io.StringIO(text, newline="")
    reader = csv.reader(buf, delimiter=options.delimiter, quotechar=options.quote)
    try:
        first = next(reader, [])
        while not first or not "".join(first).strip():  # leading blank lines
            first = next(reader)
    except StopIteration:
        raise SourceFileError(str(path), "no header line") from None
    except csv.Error as exc:
        raise SourceFileError(
            str(path), f"unreadable first line: {without_values(str(exc))}"
        ) from exc
    return first, buf.read()


def _check_names(path: Path, names: list[str], what: str) -> None:
    """Column names must be non-empty, unique ignoring case, and not ``_source_row``."""
    for i, name in enumerate(names, 1):
        if not name:
            raise SourceFileError(str(path), f"{what}: empty column name at position {i}")
        if name == ROW_NUMBER:
            raise SourceFileError(str(path), f"{what}: column name '{ROW_NUMBER}' is reserved")
    seen: dict[str, str] = {}
    dups: list[str] = []
    for name in names:
        other = seen.get(name.lower())
        seen.setdefault(name.lower(), name)
        if other is not None:
            dups.append(
                shown([name], Q) if other == name else f"{shown([other], Q)} and {shown([name], Q)}"
            )
    if dups:
        raise SourceFileError(
            str(path),
            f"{what}: duplicate column name(s) {', '.join(dups)} (names are case-insensitive)",
        )


def _read_records(
    path: Path, data: str, header: list[str], options: CsvOptions
) -> tuple[pa.Table, list[tuple[int, str, str]], list[int]]:
    """Arrow parses the records; the callback sees only invalid ones (rejects, blank lines)."""
    bad: list[tuple[int, str, str]] = []
    blank: list[int] = []
    over = [0]  # malformed records past the cap: counted, not kept

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:  # Arrow numbers rows when reading serially; never expected
            raise SourceFileError(str(path), "CSV reader did not report record numbers")
        if len(header) > 1 and not row.text.strip():
            blank.append(row.number)
        elif len(bad) >= options.max_rejected_lines:
            over[0] += 1
        else:
            reason = f"expected {row.expected_columns} columns, found {row.actual_columns}"
            bad.append((row.number, row.text, reason))
        return "skip"

    raw = data.encode("utf-8")
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(
                use_threads=False,  # serial: invalid rows carry their record number
                column_names=header,
                block_size=min(max(len(raw) + 1, 1 << 16), _MAX_BLOCK),  # no record straddles
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
    except pa.ArrowException as exc:
        raise SourceFileError(str(path), f"unreadable CSV: {without_values(str(exc))}") from exc
    if over[0]:
        raise too_many_rejects(path, len(bad) + over[0], options.max_rejected_lines)
    return table, bad, blank


def too_many_rejects(path: Path, count: int, cap: int) -> TooManyRejects:
    """The refusal of a file with more malformed records than ``cap``."""
    return TooManyRejects(
        str(path),
        f"{count} malformed records, more than options.max_rejected_lines ({cap}): refused whole",
    )


def _number(
    table: pa.Table, bad: list[tuple[int, str, str]], blank: list[int], header: list[str]
) -> ParsedFile:
    """Record numbers of rows and rejects, blank lines taken out of the count."""
    rejected = np.array([n for n, _, _ in bad], dtype=np.int64)
    skipped = np.sort(np.array(blank, dtype=np.int64))
    total = np.arange(1, table.num_rows + len(rejected) + len(skipped) + 1, dtype=np.int64)
    kept = np.setdiff1d(total, np.concatenate([rejected, skipped]), assume_unique=True)
    kept = kept - np.searchsorted(skipped, kept)
    rejected = rejected - np.searchsorted(skipped, rejected)
    rows = table.append_column(ROW_NUMBER, pa.array(kept[: table.num_rows], pa.int64()))
    rejects = pa.table(
        {
            ROW_NUMBER: pa.array(rejected, pa.int64()),
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
    except (pa.ArrowException, OSError) as exc:
        raise SourceFileError(str(path), f"unreadable Parquet: {without_values(str(exc))}") from exc
    _check_names(path, table.column_names, "Parquet schema")
    cols = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        try:
            cols[name] = pc.cast(column, pa.string())
        except pa.ArrowException as exc:
            raise SourceFileError(
                str(path),
                f"column {shown([name], Q)} of type {column.type} cannot be read as text: "
                f"{without_values(str(exc))}",
            ) from exc
    rows = pa.table(cols, schema=pa.schema([(n, pa.string()) for n in cols])).append_column(
        ROW_NUMBER, pa.array(np.arange(1, table.num_rows + 1), pa.int64())
    )
    return ParsedFile(rows=rows, rejects=REJECTS_SCHEMA.empty_table(), columns=table.column_names)


def parse_file(
    path: Path, format: str, options: CsvOptions, parse_jsonl: Callable[[str, str], ParsedFile]
) -> ParsedFile:
    """A landing file of ``format`` (``csv``, ``parquet`` or ``jsonl``) parsed as its source's
    options say; JSON lines by ``parse_jsonl`` (an engine's: DuckDB parses them)."""
    if format == "csv":
        return parse_csv(path, options)
    if format == "parquet":
        return parse_parquet(path)
    if path.name.lower().endswith(".gz"):  # a gzip bomb is refused before the engine reads it
        read_bytes_checked(path, options.encoding, options.max_gunzip_ratio)
    parsed = parse_jsonl(str(path), options.encoding)
    if parsed.rejects.num_rows > options.max_rejected_lines:
        raise too_many_rejects(path, parsed.rejects.num_rows, options.max_rejected_lines)
    return parsed


def _empty_rows(header: list[str]) -> pa.Table:
    return pa.schema([(h, pa.string()) for h in header] + [(ROW_NUMBER, pa.int64())]).empty_table()


def _codec_name(path: Path, encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise SourceFileError(
            str(path), f"unknown encoding '{encoding}' (options.encoding)"
        ) from None


#: bytes of a text file read to find its column names (a header longer than this is cut)
HEADER_BYTES = 1 << 16


def read_columns(path: Path, format: str, options: CsvOptions) -> list[str]:
    """The column names of a landing file without reading its rows: a CSV's header, a
    Parquet file's schema, the keys of a JSON-lines file's first object. Empty when they
    cannot be told (no header, unreadable file): the caller only uses them to check names.
    """
    try:
        if format == "parquet":
            return list(pq.read_schema(path).names)
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
        text = head.decode(options.encoding, errors="replace").lstrip("\ufeff")
        if format == "jsonl":
            first = next((line for line in text.splitlines() if line.strip()), "")
            obj = json.loads(first)
            return list(obj) if isinstance(obj, dict) else []
        if not options.header:
            return []
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=options.delimiter, quotechar=options.quote
        )
        first_row = next((r for r in reader if "".join(r).strip()), [])
        return [h.strip() for h in first_row]
    except (OSError, ValueError, csv.Error, pa.ArrowException):
        return []

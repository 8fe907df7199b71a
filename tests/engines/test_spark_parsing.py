"""Bronze parsed on Spark's executors gives what the same parser gives on the driver: rows,
rejected lines, columns, and the same refusals, for files unlike the generator's."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshop.core.errors import SourceFileError
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.files import CsvOptions, ParsedFile, parse_file
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.spark.parsing import Request, parse_on_executors

pytestmark = pytest.mark.spark

SEMICOLONS = CsvOptions(delimiter=";", encoding="cp1252", max_rejected_lines=5)


def _files(tmp_path: Path) -> list[tuple[Path, str, CsvOptions]]:
    """Another company's exports: semicolons in cp1252 with a ragged line, JSON lines
    gzipped with odd keys and a broken line, Parquet with typed columns, and refusals."""
    land = tmp_path / "landing"
    land.mkdir()
    csv = land / "Kunden Ä.csv"
    csv.write_bytes(
        'Kundennr;Name;Umsatz\nK1;Müller;12,50\nK2;Ørsted\nK3;"a;b";-3\n'.encode("cp1252")
    )
    jsonl = land / "clicks.jsonl.gz"
    jsonl.write_bytes(
        gzip.compress(b'{"user id": "u1", "n": 1.50, "tags": [1]}\nnot json\n{"user id": null}\n')
    )
    parquet = land / "lines.parquet"
    pq.write_table(pa.table({"qty": pa.array([1, None], pa.int32()), "at": ["x", "y"]}), parquet)
    ragged = land / "ragged.csv"
    ragged.write_text("a,b\n" + "1\n" * 7)
    binary = land / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02" * 50)
    return [
        (csv, "csv", SEMICOLONS),
        (jsonl, "jsonl", CsvOptions()),
        (parquet, "parquet", CsvOptions()),
        (ragged, "csv", CsvOptions(max_rejected_lines=5)),  # refused whole: too many rejects
        (binary, "csv", CsvOptions()),
        (land / "gone.csv", "csv", CsvOptions()),  # listed, then deleted before it was read
    ]


def _here(
    path: Path, fmt: str, options: CsvOptions, tmp_path: Path
) -> ParsedFile | SourceFileError:
    with DuckDBEngine(Lakehouse(tmp_path / "lake"), threads=1) as duck:
        try:
            return parse_file(path, fmt, options, duck.parse_jsonl)
        except SourceFileError as exc:
            return exc


def test_files_parsed_on_the_executors_equal_the_driver_s_parse(spark: Any, tmp_path: Path):
    files = _files(tmp_path)
    staging = tmp_path / "lake" / "lakeshop" / "_staging" / "chunk"
    requests = [Request(str(p), fmt, opts) for p, fmt, opts in files]
    ahead = parse_on_executors(spark, requests, staging)
    assert sorted(ahead) == sorted(r.path for r in requests)
    for path, fmt, options in files:
        got, want = ahead[str(path)], _here(path, fmt, options, tmp_path)
        if isinstance(want, SourceFileError):  # refused for the same reason, by its path
            assert isinstance(got, SourceFileError), (path.name, got, want)
            assert (got.path, got.reason) == (str(path), want.reason)
            continue
        assert isinstance(got, ParsedFile) and isinstance(want, ParsedFile), (path.name, got)
        # the rows are in the staged Parquet file, not in the driver's memory
        assert got.staged and Path(got.staged).parent == staging and got.rows.num_rows == 0
        assert got.num_rows == want.num_rows and got.rows.schema == want.rows.schema
        assert pq.read_table(got.staged).to_pylist() == want.rows.to_pylist()
        assert got.rejects.to_pylist() == want.rejects.to_pylist()
        assert got.columns == want.columns
    csv = ahead[str(files[0][0])]
    assert isinstance(csv, ParsedFile) and csv.columns == ["Kundennr", "Name", "Umsatz"]
    assert [r["_source_row"] for r in csv.rejects.to_pylist()] == [2]  # Ørsted's short line
    assert pq.read_table(csv.staged).column("Name").to_pylist() == ["Müller", "a;b"]
    clicks = ahead[str(files[1][0])]
    assert isinstance(clicks, ParsedFile) and clicks.num_rows == 2 and clicks.rejects.num_rows == 1
    assert "malformed records" in str(ahead[str(files[3][0])])
    assert "binary content" in str(ahead[str(files[4][0])])
    assert "cannot read file" in str(ahead[str(files[5][0])])


def test_nothing_to_parse_starts_no_job(spark: Any, tmp_path: Path):
    assert parse_on_executors(spark, [], tmp_path / "staging") == {}
    assert not (tmp_path / "staging").exists()

"""CSV and Parquet landing-file readers: every record is a row or a reject, or the file errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeshop.core.errors import SourceFileError
from lakeshop.engines.files import CsvOptions, ParsedFile, parse_csv, parse_parquet


def parse(tmp_path: Path, data: bytes | str, **options: object) -> ParsedFile:
    path = tmp_path / "in.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return parse_csv(path, CsvOptions(**options))  # type: ignore[arg-type]


def rows(parsed: ParsedFile) -> list[dict[str, object]]:
    return parsed.rows.to_pylist()


def rejects(parsed: ParsedFile) -> list[tuple[int, str, str]]:
    return [(r["_source_row"], r["line_text"], r["reason"]) for r in parsed.rejects.to_pylist()]


def error(tmp_path: Path, data: bytes | str, **options: object) -> str:
    with pytest.raises(SourceFileError) as info:
        parse(tmp_path, data, **options)
    return info.value.reason


def test_plain_csv(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "id,name\n1,Ann\n2,Bob\n")
    assert parsed.columns == ["id", "name"]
    assert rows(parsed) == [
        {"id": "1", "name": "Ann", "_source_row": 1},
        {"id": "2", "name": "Bob", "_source_row": 2},
    ]
    assert rejects(parsed) == []
    assert parsed.rows.schema.field("id").type == pa.string()


def test_values_are_text_as_received(tmp_path: Path) -> None:
    parsed = parse(tmp_path, 'a,b\n007, 1.50 \n"",\n')
    assert rows(parsed) == [
        {"a": "007", "b": " 1.50 ", "_source_row": 1},
        {"a": "", "b": "", "_source_row": 2},
    ]


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    parsed = parse(tmp_path, b"\xef\xbb\xbfid,name\n1,\xc3\xa9\n")
    assert parsed.columns == ["id", "name"]
    assert rows(parsed) == [{"id": "1", "name": "é", "_source_row": 1}]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends(tmp_path: Path, newline: str) -> None:
    parsed = parse(tmp_path, newline.join(["a,b", "1,2", "3", "4,5", ""]))
    assert rows(parsed) == [
        {"a": "1", "b": "2", "_source_row": 1},
        {"a": "4", "b": "5", "_source_row": 3},
    ]
    assert rejects(parsed) == [(2, "3", "expected 2 columns, found 1")]


def test_quoted_delimiter_quotes_and_newlines(tmp_path: Path) -> None:
    text = 'a,b\n"x,y","say ""hi"""\n"two\nlines",2\n"three\r\n\nlines",3\n4\n5,6\n'
    parsed = parse(tmp_path, text)
    assert rows(parsed) == [
        {"a": "x,y", "b": 'say "hi"', "_source_row": 1},
        {"a": "two\nlines", "b": "2", "_source_row": 2},
        {"a": "three\r\n\nlines", "b": "3", "_source_row": 3},
        {"a": "5", "b": "6", "_source_row": 5},
    ]
    assert rejects(parsed) == [(4, "4", "expected 2 columns, found 1")]


def test_wrong_column_counts_are_rejected_with_their_text(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "a,b,c\n1,2,3\n1,2\n1,2,3,4\n7,8,9\n")
    assert rejects(parsed) == [
        (2, "1,2", "expected 3 columns, found 2"),
        (3, "1,2,3,4", "expected 3 columns, found 4"),
    ]
    assert [r["_source_row"] for r in rows(parsed)] == [1, 4]
    assert rows(parsed)[1] == {"a": "7", "b": "8", "c": "9", "_source_row": 4}


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n\n3,4\n",
        "a,b\n1,2\n   \n3,4\n",
        "a,b\n1,2\n\t\r\n3,4\n\n\n",
        "\n\na,b\n1,2\n3,4\n \n",
    ],
)
def test_blank_lines_are_neither_rows_nor_rejects_nor_counted(tmp_path: Path, text: str) -> None:
    parsed = parse(tmp_path, text)
    assert rows(parsed) == [
        {"a": "1", "b": "2", "_source_row": 1},
        {"a": "3", "b": "4", "_source_row": 2},
    ]
    assert rejects(parsed) == []


def test_record_numbers_after_blank_lines_and_rejects(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "a,b\n\n1\n  \n2,3\n\n4\n5,6\n")
    assert rejects(parsed) == [
        (1, "1", "expected 2 columns, found 1"),
        (3, "4", "expected 2 columns, found 1"),
    ]
    assert [r["_source_row"] for r in rows(parsed)] == [2, 4]


def test_whitespace_value_in_a_one_column_file_is_a_value(tmp_path: Path) -> None:
    assert rows(parse(tmp_path, "a\n1\n  \n2\n")) == [
        {"a": "1", "_source_row": 1},
        {"a": "  ", "_source_row": 2},
        {"a": "2", "_source_row": 3},
    ]


def test_truncated_last_line_without_newline(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "a,b\n1,2\n3,4")
    assert [r["b"] for r in rows(parsed)] == ["2", "4"]
    parsed = parse(tmp_path, "a,b\n1,2\n3")
    assert rejects(parsed) == [(2, "3", "expected 2 columns, found 1")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"  \n\r\n\t\n", "empty file (7 bytes of whitespace only)"),
        (b"\xef\xbb\xbf\n", "empty file (4 bytes of whitespace only)"),
    ],
)
def test_empty_files_are_errors(tmp_path: Path, data: bytes, reason: str) -> None:
    assert error(tmp_path, data) == reason


@pytest.mark.parametrize("text", ["a,b\n", "a,b", "a,b\r\n\r\n  \n"])
def test_header_only_gives_no_rows(tmp_path: Path, text: str) -> None:
    parsed = parse(tmp_path, text)
    assert parsed.columns == ["a", "b"]
    assert parsed.rows.num_rows == 0 and parsed.rejects.num_rows == 0
    assert parsed.rows.column_names == ["a", "b", "_source_row"]


def test_binary_garbage_is_an_error(tmp_path: Path) -> None:
    import random

    noise = random.Random(3).randbytes(4096)
    assert "binary content" in error(tmp_path, noise)
    assert "not valid utf-8 text at byte" in error(tmp_path, noise.replace(b"\x00", b"\x01"))


def test_latin1_needs_its_encoding_option(tmp_path: Path) -> None:
    data = "city,name\nKöln,Zoë\n".encode("latin-1")
    assert error(tmp_path, data) == "not valid utf-8 text at byte 11; set options.encoding"
    parsed = parse(tmp_path, data, encoding="latin-1")
    assert rows(parsed) == [{"city": "Köln", "name": "Zoë", "_source_row": 1}]


def test_unknown_encoding_is_a_clear_error(tmp_path: Path) -> None:
    assert error(tmp_path, "a\n1\n", encoding="klingon") == (
        "unknown encoding 'klingon' (options.encoding)"
    )


def test_utf16_file_with_its_encoding(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "a,b\n1,é\n".encode("utf-16"), encoding="utf-16")
    assert rows(parsed) == [{"a": "1", "b": "é", "_source_row": 1}]


def test_ten_megabyte_field(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    parsed = parse(tmp_path, f'a,b\n1,"{big}"\n2,{big}\n3,y\n')
    assert parsed.rows.num_rows == 3
    assert [len(v) for v in parsed.rows.column("b").to_pylist()] == [len(big), len(big), 1]
    assert parsed.rows.column("_source_row").to_pylist() == [1, 2, 3]


def test_semicolon_delimiter(tmp_path: Path) -> None:
    parsed = parse(tmp_path, 'a;b\n1,5;"x;y"\n2\n', delimiter=";")
    assert rows(parsed) == [{"a": "1,5", "b": "x;y", "_source_row": 1}]
    assert rejects(parsed) == [(2, "2", "expected 2 columns, found 1")]


def test_no_header_option_names_columns_by_position(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "1,2\n3\n4,5\n", header=False)
    assert parsed.columns == ["column1", "column2"]
    assert [r["_source_row"] for r in rows(parsed)] == [1, 3]
    assert rejects(parsed) == [(2, "3", "expected 2 columns, found 1")]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("id,name,id", "header: duplicate column name(s) 'id' (names are case-insensitive)"),
        ("id,ID", "header: duplicate column name(s) 'id' and 'ID' (names are case-insensitive)"),
        ("id,,name", "header: empty column name at position 2"),
        ("id,_source_row", "header: column name '_source_row' is reserved"),
    ],
)
def test_bad_header_names(tmp_path: Path, header: str, reason: str) -> None:
    assert error(tmp_path, f"{header}\n1,2,3\n") == reason


def test_quoted_header_names(tmp_path: Path) -> None:
    parsed = parse(tmp_path, '"a,1"," b "\r\n1,2\r\n')
    assert parsed.columns == ["a,1", "b"]
    assert rows(parsed) == [{"a,1": "1", "b": "2", "_source_row": 1}]


def test_parquet_values_become_text(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": [1, 2], "price": [1.5, None], "name": ["a", "é"]}), path)
    parsed = parse_parquet(path)
    assert parsed.columns == ["id", "price", "name"]
    assert parsed.rows.to_pylist() == [
        {"id": "1", "price": "1.5", "name": "a", "_source_row": 1},
        {"id": "2", "price": None, "name": "é", "_source_row": 2},
    ]


def test_parquet_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(SourceFileError, match="unreadable Parquet"):
        parse_parquet(bad)
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"id": [1], "tags": [[1, 2]]}), nested)
    with pytest.raises(SourceFileError, match="column 'tags' of type list<element: int64>"):
        parse_parquet(nested)


# -- properties ------------------------------------------------------------------------------

FAST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _accounted(parsed: ParsedFile) -> list[int]:
    numbers = parsed.rows.column("_source_row").to_pylist()
    return sorted(numbers + parsed.rejects.column("_source_row").to_pylist())


@FAST
@given(data=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_arbitrary_content_is_a_parsed_file_or_a_source_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(data)
    try:
        parsed = parse_csv(path, CsvOptions())
    except SourceFileError:
        return
    numbers = _accounted(parsed)
    assert numbers == list(range(1, len(numbers) + 1))  # every record numbered once
    assert parsed.rows.column_names == [*parsed.columns, "_source_row"]


# no "\r": Python's csv writer leaves a lone CR unquoted when the line terminator is "\n",
# and an unquoted CR is a line end to any CSV reader (quoted CRs: test_quoted_...)
_cell = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12
)


@FAST
@given(
    width=st.integers(min_value=1, max_value=5),
    data=st.data(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_written_records_are_all_accounted_for(
    tmp_path: Path, width: int, data: st.DataObject, newline: str
) -> None:
    header = [f"c{i}" for i in range(width)]
    records = data.draw(st.lists(st.lists(_cell, min_size=width, max_size=width), max_size=30))
    # a record whose only value is blank would be a blank line: not a record, by design
    records = [r for r in records if width > 1 or r[0].strip()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    lines = []
    for record in records:
        line = io.StringIO()
        csv.writer(line, lineterminator=newline).writerow(record)
        lines.append(line.getvalue())
    garbage = data.draw(st.sets(st.integers(0, max(len(lines) - 1, 0)), max_size=5))
    junk = st.lists(st.sampled_from(["x", "1", " ", ","]), min_size=1, max_size=12).map("".join)
    expected_rejects = set()
    for i in sorted(garbage):
        if i < len(lines):
            text = data.draw(junk.filter(lambda s: s.strip() and s.count(",") + 1 != width))
            lines[i] = text + newline
            expected_rejects.add(i + 1)
    path = tmp_path / "w.csv"
    path.write_bytes((out.getvalue() + "".join(lines)).encode())
    parsed = parse_csv(path, CsvOptions())
    assert parsed.rows.num_rows + parsed.rejects.num_rows == len(lines)
    assert set(parsed.rejects.column("_source_row").to_pylist()) == expected_rejects
    assert _accounted(parsed) == list(range(1, len(lines) + 1))
    good = [r for i, r in enumerate(records, 1) if i not in expected_rejects]
    assert [[row[h] for h in header] for row in parsed.rows.to_pylist()] == good

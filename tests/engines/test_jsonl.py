"""JSON-lines reader of the DuckDB engine: objects become text columns, other lines rejects."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeshop.core.errors import SourceFileError
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.files import ParsedFile
from lakeshop.engines.lakehouse import Lakehouse


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    with DuckDBEngine(Lakehouse(tmp_path_factory.mktemp("lake"))) as eng:
        yield eng


def parse(engine: DuckDBEngine, tmp_path: Path, data: str | bytes) -> ParsedFile:
    path = tmp_path / "in.jsonl"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return engine.parse_jsonl(str(path))


def rejects(parsed: ParsedFile) -> list[tuple[int, str, str]]:
    return [(r["_source_row"], r["line_text"], r["reason"]) for r in parsed.rejects.to_pylist()]


def test_valid_lines(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse(engine, tmp_path, '{"id": 1, "name": "Ann"}\n{"id": 2, "name": null}\n')
    assert parsed.columns == ["id", "name"]
    assert parsed.rows.to_pylist() == [
        {"id": "1", "name": "Ann", "_source_row": 1},
        {"id": "2", "name": None, "_source_row": 2},
    ]
    assert rejects(parsed) == []


def test_malformed_and_non_object_lines_are_rejected_by_physical_line(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    text = '{"a": 1}\n\n{"a": \n[1, 2]\n42\n"s"\nnull\n{"a": 2}'
    parsed = parse(engine, tmp_path, text)
    assert rejects(parsed) == [
        (3, '{"a": ', "malformed JSON"),
        (4, "[1, 2]", "not a JSON object"),
        (5, "42", "not a JSON object"),
        (6, '"s"', "not a JSON object"),
        (7, "null", "not a JSON object"),
    ]
    assert parsed.rows.to_pylist() == [{"a": "1", "_source_row": 1}, {"a": "2", "_source_row": 8}]


def test_blank_lines_are_ignored(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse(engine, tmp_path, '\n{"a": 1}\r\n  \n\t\n{"a": 2}\n\n')
    assert parsed.rows.to_pylist() == [{"a": "1", "_source_row": 2}, {"a": "2", "_source_row": 5}]
    assert rejects(parsed) == []


def test_keys_are_the_union_missing_ones_null(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse(engine, tmp_path, '{"a": 1, "b": true}\n{"c": "x"}\n{}\n')
    assert parsed.columns == ["a", "b", "c"]
    assert parsed.rows.to_pylist() == [
        {"a": "1", "b": "true", "c": None, "_source_row": 1},
        {"a": None, "b": None, "c": "x", "_source_row": 2},
        {"a": None, "b": None, "c": None, "_source_row": 3},
    ]


def test_nested_values_are_kept_as_json_text(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse(engine, tmp_path, '{"o": {"k": [1, {"z": null}]}, "l": [1, 2]}\n')
    row = parsed.rows.to_pylist()[0]
    assert json.loads(row["o"]) == {"k": [1, {"z": None}]}
    assert json.loads(row["l"]) == [1, 2]


def test_unicode(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse(engine, tmp_path, '\ufeff{"naïve": "Zoë ☃ 𝄞", "e": "\\u00e9"}\n')
    assert parsed.rows.to_pylist() == [{"e": "é", "naïve": "Zoë ☃ 𝄞", "_source_row": 1}]


def test_keys_with_special_characters(engine: DuckDBEngine, tmp_path: Path) -> None:
    record = {'a"b': 1, "c'd": 2, "e/f": 3, "g~h": 4, "i\\j": 5, "k.l": 6, "m n": 7, "$": 8}
    parsed = parse(engine, tmp_path, json.dumps(record) + "\n")
    assert parsed.columns == sorted(record)
    row = parsed.rows.to_pylist()[0]
    assert {k: row[k] for k in record} == {k: str(v) for k, v in record.items()}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"id": 1}\n{"ID": 2}\n', "keys 'ID' (line 2) and 'id' (line 1) differ only in case"),
        ('{"a": 1}\n{"": 2}\n', "line 2 has an empty key"),
        ('{"_source_row": 1}\n', "line 1 has the reserved key '_source_row'"),
        ("", "empty file (0 bytes)"),
        ("\n  \n", "empty file (4 bytes of whitespace only)"),
    ],
)
def test_unusable_files(engine: DuckDBEngine, tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(SourceFileError) as info:
        parse(engine, tmp_path, text)
    assert info.value.reason == reason


def test_invalid_utf8_names_the_byte(engine: DuckDBEngine, tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="not valid utf-8 text at byte 7"):
        parse(engine, tmp_path, b'{"a": "\xe9"}\n')


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=1000) | st.text(max_size=300).map(str.encode))
def test_arbitrary_content_is_a_parsed_file_or_a_source_error(
    engine: DuckDBEngine, tmp_path: Path, data: bytes
) -> None:
    try:
        parsed = parse(engine, tmp_path, data)
    except SourceFileError:
        return
    lines = [n for n, line in enumerate(data.decode().split("\n"), 1) if line.strip()]
    found = parsed.rows.column("_source_row").to_pylist()
    found += parsed.rejects.column("_source_row").to_pylist()
    assert sorted(found) == lines


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "c d", "é"]), _json, max_size=4), max_size=15
    ),
    garbage=st.sets(st.integers(0, 14), max_size=4),
)
def test_written_lines_are_all_accounted_for(
    engine: DuckDBEngine, tmp_path: Path, records: list[dict[str, object]], garbage: set[int]
) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    bad = {i + 1 for i in garbage if i < len(lines)}
    for n in bad:
        lines[n - 1] = "{" + lines[n - 1]
    if not lines:
        return
    parsed = parse(engine, tmp_path, "\n".join(lines) + "\n")
    assert parsed.rows.num_rows + parsed.rejects.num_rows == len(lines)
    assert set(parsed.rejects.column("_source_row").to_pylist()) == bad
    for row in parsed.rows.to_pylist():
        original = records[row["_source_row"] - 1]
        for key, value in original.items():
            if isinstance(value, dict | list):
                assert json.loads(row[key]) == value
            elif value is None:
                assert row[key] is None
            elif isinstance(value, bool):
                assert row[key] == str(value).lower()
            else:
                assert row[key] == str(value)


# DuckDB reads plain UTF-8 files itself; gzip, other encodings, names that read_text would
# take for a glob, and files it finds unusual are decoded in Python: both give the same result

AWKWARD = (
    '\ufeff{"a": 1}\r\n'  # BOM, CRLF
    "\u3000\x1c\xa0 \t\n"  # whitespace only, in Python's sense: skipped
    '{"a": "x\\u0000y", "b": [1, {"c": null}]}\n'
    "not json\r\r\n"
    '[1]\n{"b": "é ☃"}'  # no line end at the end
)


def parse_file(
    engine: DuckDBEngine, path: Path, data: bytes, encoding: str = "utf-8"
) -> ParsedFile:
    path.write_bytes(data)
    return engine.parse_jsonl(str(path), encoding)


def test_every_way_of_reading_gives_the_same_result(engine: DuckDBEngine, tmp_path: Path) -> None:
    plain = parse_file(engine, tmp_path / "plain.jsonl", AWKWARD.encode())
    assert plain.columns == ["a", "b"]
    assert plain.rows.to_pylist() == [
        {"a": "1", "b": None, "_source_row": 1},
        {"a": "x\x00y", "b": '[1,{"c":null}]', "_source_row": 3},
        {"a": None, "b": "é ☃", "_source_row": 6},
    ]
    assert rejects(plain) == [(4, "not json", "malformed JSON"), (5, "[1]", "not a JSON object")]
    others = [
        parse_file(engine, tmp_path / "z.jsonl.gz", gzip.compress(AWKWARD.encode(), mtime=0)),
        parse_file(engine, tmp_path / "w.jsonl", AWKWARD.encode("utf-16"), "utf-16"),
        parse_file(engine, tmp_path / "g[1]*?.jsonl", AWKWARD.encode()),
    ]
    for other in others:
        assert other.columns == plain.columns
        assert other.rows.equals(plain.rows)
        assert other.rejects.equals(plain.rejects)


def test_a_name_that_looks_like_a_glob_reads_that_file(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    (tmp_path / "a1.jsonl").write_text('{"file": "a1"}\n')
    parsed = parse_file(engine, tmp_path / "a[1].jsonl", b'{"file": "a[1]"}\n')
    assert parsed.rows.to_pylist() == [{"file": "a[1]", "_source_row": 1}]


def test_latin1_source(engine: DuckDBEngine, tmp_path: Path) -> None:
    data = '{"name": "Zoë"}\n{"name": "crème"}\n'.encode("latin-1")
    parsed = parse_file(engine, tmp_path / "l.jsonl", data, "latin-1")
    assert [r["name"] for r in parsed.rows.to_pylist()] == ["Zoë", "crème"]
    with pytest.raises(SourceFileError, match="not valid utf-8 text at byte 12"):
        parse_file(engine, tmp_path / "l.jsonl", data)


def test_nul_characters(engine: DuckDBEngine, tmp_path: Path) -> None:
    """A NUL early in the file makes it binary; one further on is a malformed line."""
    with pytest.raises(SourceFileError, match=r"binary content \(NUL bytes\)"):
        parse_file(engine, tmp_path / "b.jsonl", b'{"a": 1}\n\x00\x01\x02\n')
    late = b'{"a": 1}\n' * 8000 + b"\x00\n" + b'{"a": 2}\n'
    parsed = parse_file(engine, tmp_path / "b.jsonl", late)
    assert rejects(parsed) == [(8001, "\x00", "malformed JSON")]
    assert parsed.rows.num_rows == 8001


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("\ufeff \u3000\r\n\x1c".encode(), "empty file (10 bytes of whitespace only)"),
        (b"\xef\xbb\xbf", "empty file (3 bytes of whitespace only)"),
        (gzip.compress(b"{", mtime=0)[:-4], "truncated gzip"),  # mtime: a stable test id
    ],
)
def test_files_without_lines(
    engine: DuckDBEngine, tmp_path: Path, data: bytes, reason: str
) -> None:
    with pytest.raises(SourceFileError, match=re.escape(reason)):
        parse_file(engine, tmp_path / ("e.jsonl.gz" if "gzip" in reason else "e.jsonl"), data)


def test_a_missing_file_is_named(engine: DuckDBEngine, tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="cannot read file"):
        engine.parse_jsonl(str(tmp_path / "gone.jsonl"))


def test_objects_without_keys(engine: DuckDBEngine, tmp_path: Path) -> None:
    parsed = parse_file(engine, tmp_path / "k.jsonl", b"{}\n\n{ }\n")
    assert parsed.columns == []
    assert parsed.rows.to_pylist() == [{"_source_row": 1}, {"_source_row": 3}]

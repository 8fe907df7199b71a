"""Hostile and broken landing files: each one ends in one clear ``_system.files`` record, its
rows kept or rejected with reasons, other tables untouched, and the run never crashes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeshop.pipeline.sources import FileOptions, Source
from tests.pipeline.landing import Ingested, ingest

FIELDS = ["id", "val"]
BIG = 10_000_000


def sources() -> list[Source]:
    return [
        Source(name="items", path="*.csv*", fields=FIELDS, required=["id"]),
        Source(name="events", path="*.jsonl*", format="jsonl", fields=FIELDS, required=["id"]),
        Source(
            name="legacy",
            path="legacy/*.csv",
            fields=FIELDS,
            required=["id"],
            options=FileOptions(encoding="latin-1"),
        ),
    ]


def csv_gz(rows: int) -> bytes:
    return gzip.compress(b"id,val\n" + b"".join(b"%d,gz\n" % i for i in range(rows)), mtime=0)


WHOLE_GZ = csv_gz(5000)
NAMES = ["with space.csv", 'it\'s "quoted".csv', "a..b.csv", "café_日本.csv", "x'; DROP --.csv"]

#: file -> (content, expected status, rows, rejected lines, error or None)
CORPUS: dict[str, tuple[bytes, str, int, int, str | None]] = {
    "random.csv": (random.Random(4).randbytes(4096), "error", 0, 0, "binary content"),
    "zero.csv": (b"", "error", 0, 0, "empty file (0 bytes)"),
    "header_only.csv": (b"id,val\n", "error", 0, 0, "header only: no data rows"),
    "bom.csv": (b"\xef\xbb\xbfid,val\n1,bom\n", "ingested", 1, 0, None),
    "crlf.csv": (b"id,val\r\n1,a\r\n2\r\n3,c\r\n", "ingested", 2, 1, None),
    "quoted_newlines.csv": (b'id,val\n1,"two\nlines"\n2,"x\r\n\r\ny"\n', "ingested", 2, 0, None),
    "latin1.csv": ("id,val\n1,café\n".encode("latin-1"), "error", 0, 0, "not valid utf-8"),
    "legacy/latin1.csv": ("id,val\n1,crème\n".encode("latin-1"), "ingested", 1, 0, None),
    "big_field.csv": (b"id,val\n1," + b"x" * BIG + b"\n2,small\n", "ingested", 2, 0, None),
    "truncated_line.csv": (b"id,val\n1,a\n2,b\n3", "ingested", 2, 1, None),
    "truncated_quote.csv": (b'id,val\n1,a\n2,"cut sh', "ingested", 1, 1, None),
    "whole.csv.gz": (WHOLE_GZ, "ingested", 5000, 0, None),
    "cut.csv.gz": (WHOLE_GZ[: len(WHOLE_GZ) // 2], "error", 0, 0, "truncated gzip"),
    "not_gzip.csv.gz": (b"id,val\n1,plain\n", "error", 0, 0, "not a valid gzip file"),
    "events.jsonl.gz": (
        gzip.compress(b'{"id": 1}\n{"id": 2, "val": "b"}\n', mtime=0),
        "ingested",
        2,
        0,
        None,
    ),
    "cut.jsonl.gz": (
        gzip.compress(b'{"id": 3}\n' * 999, mtime=0)[:-9],
        "error",
        0,
        0,
        "truncated gzip",
    ),
    **{
        name: (f"id,val\n{i},{name}\n".encode(), "ingested", 1, 0, None)
        for i, name in enumerate(NAMES)
    },
}


def test_corpus(tmp_path: Path) -> None:
    before = ingest(tmp_path, {"legacy/first.csv": b"id,val\n0,kept\n"}, sources())
    legacy_before = before.rows("bronze.legacy")

    out = ingest(tmp_path, {name: content for name, (content, *_) in CORPUS.items()}, sources())
    assert out.summary.status == "ok", [(o.name, o.error) for o in out.summary.failed]
    assert sorted(out.files) == sorted([*CORPUS, "legacy/first.csv"])  # one record per file
    for name, (content, status, rows, rejected, error) in CORPUS.items():
        entry = out.files[name]
        got = (entry["status"], entry["rows"], entry["rejected_lines"])
        assert got == (status, rows, rejected), (name, entry["error"])
        assert (entry["error"] is None) if error is None else (error in entry["error"]), name
        raw = out.lakehouse.root / entry["raw_path"]
        assert raw.resolve().is_relative_to(out.lakehouse.raw_dir.resolve()), name
        assert raw.read_bytes() == content, name  # the raw copy is the file as received
        assert_accounted(out, entry)

    # the earlier rows of another table are untouched; only the right files reached bronze
    first_batch = legacy_before[0]["_batch_id"]
    assert [r for r in out.rows("bronze.legacy") if r["_batch_id"] == first_batch] == legacy_before
    items = out.rows("bronze.items")
    assert {r["_source_file"] for r in items} == {
        n for n, c in CORPUS.items() if c[2] and n.endswith((".csv", ".csv.gz")) and "/" not in n
    }
    by_file = {(r["_source_file"], r["_source_row"]): r for r in items}
    assert by_file[("bom.csv", 1)]["id"] == "1"
    assert by_file[("quoted_newlines.csv", 2)]["val"] == "x\r\n\r\ny"
    assert len(by_file[("big_field.csv", 1)]["val"]) == BIG
    assert by_file[("whole.csv.gz", 5000)]["id"] == "4999"
    for name in NAMES:
        assert by_file[(name, 1)]["val"] == name
    assert sorted(r["val"] for r in out.rows("bronze.legacy")) == ["crème", "kept"]
    rejects = {(r["_source_file"], r["_source_row"]): r for r in out.rows("bronze.items__rejects")}
    assert rejects[("truncated_line.csv", 3)]["line_text"] == "3"
    cut = rejects[("truncated_quote.csv", 2)]
    assert (cut["line_text"], cut["reason"]) == (
        '2,"cut sh',
        "quoted value not closed at end of file (file cut short?)",
    )

    again = ingest(tmp_path, {}, sources())  # nothing new: nothing read again
    assert again.summary.status == "ok" and len(again.files) == len(out.files)


def test_a_file_name_that_is_not_utf8_is_ingested_under_an_escaped_name(tmp_path: Path) -> None:
    content = b"id,val\n1,x\n"
    odd = "bad\udcff.csv"  # the bytes b"bad\xff.csv" on disk: not valid UTF-8
    out = ingest(tmp_path, {odd: content}, sources()[:1])
    assert out.summary.status == "ok", [(o.name, o.error) for o in out.summary.failed]
    entry = out.files["bad\\xff.csv"]
    assert (entry["status"], entry["rows"]) == ("ingested", 1)
    assert entry["error"] == "file name is not valid UTF-8: kept with \\x escapes"
    assert [r["_source_file"] for r in out.rows("bronze.items")] == ["bad\\xff.csv"]
    assert (out.lakehouse.root / entry["raw_path"]).read_bytes() == content
    again = ingest(tmp_path, {}, sources()[:1])  # known by its escaped name: not read again
    assert again.summary.status == "ok" and len(again.files) == 1


def assert_accounted(out: Ingested, entry: dict[str, Any]) -> None:
    """The file's rows in bronze and in its rejects are those its record counts."""
    table = f"bronze.{entry['source']}"
    rows = [r for r in out.rows(table) if r["_source_file"] == entry["path"]]
    rejects = [r for r in out.rows(f"{table}__rejects") if r["_source_file"] == entry["path"]]
    assert (len(rows), len(rejects)) == (entry["rows"], entry["rejected_lines"]), entry["path"]


# -- property: random mixes of good and broken files in one landing folder ----------------

#: a value: quoted when it holds a delimiter, quote or line end (no bare CR: csv.writer does
#: not quote it under a LF line end, and every CSV reader takes it for a line end)
VALUE = st.text(alphabet=st.sampled_from(list('ab ,"\n;é€')), min_size=1, max_size=8).filter(
    lambda v: v.strip() != ""
)
#: a CSV record: mostly two values, sometimes one or three (rejected), or a blank line
RECORD: st.SearchStrategy[list[str]] = st.one_of(
    st.lists(VALUE, min_size=2, max_size=2),
    st.lists(VALUE, min_size=1, max_size=3),
    st.just([]),
)


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[str, bytes, int | None]:
    """A well-formed CSV file (maybe gzipped, maybe cut short) and its record count."""
    records = draw(st.lists(RECORD, min_size=1, max_size=6))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(FIELDS)
    for r in records:
        if r:
            writer.writerow(r)
        else:
            buf.write("\n")
    data = buf.getvalue().encode()
    expected: int | None = sum(1 for r in records if r)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")  # no line end after the last record
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data, expected = data[: draw(st.integers(1, len(data) - 1))], None
        return "csv.gz", data, expected
    return "csv", data, expected


@st.composite
def jsonl_file(draw: st.DrawFn) -> tuple[str, bytes, int | None]:
    """JSON lines: objects and broken lines, each one a row or a reject."""
    lines = draw(
        st.lists(
            st.one_of(
                st.builds(lambda i, v: json.dumps({"id": i, "val": v}), st.integers(), VALUE),
                st.sampled_from(['{"id": 1', "[1, 2]", "nope", '"text"']),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return "jsonl", "\n".join(lines).encode(), len(lines)


GARBAGE = st.tuples(st.sampled_from(["csv", "jsonl", "csv.gz"]), st.binary(max_size=64), st.none())
FILES = st.lists(st.one_of(csv_file(), jsonl_file(), GARBAGE), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILES)
def test_any_mix_of_files_is_accounted_for(files: list[tuple[str, bytes, int | None]]) -> None:
    landed: dict[str, tuple[bytes, int | None]] = {}
    for i, (ext, data, expected) in enumerate(files):
        if all(data != d for d, _ in landed.values()):  # same bytes: a duplicate delivery
            landed[f"f{i}.{ext}"] = (data, expected)
    with tempfile.TemporaryDirectory() as tmp:
        out = ingest(Path(tmp), {n: d for n, (d, _) in landed.items()}, sources()[:2])
        assert out.summary.status == "ok", [(o.name, o.error) for o in out.summary.failed]
        assert sorted(out.files) == sorted(landed)
        for name, (_, expected) in landed.items():
            entry = out.files[name]
            assert entry["status"] in ("ingested", "error"), entry
            assert_accounted(out, entry)
            if entry["status"] == "ingested":
                assert entry["error"] is None
                if expected is not None:
                    assert entry["rows"] + entry["rejected_lines"] == expected, entry
            else:
                assert entry["error"], entry
            if expected == 0:
                assert entry["error"] == "header only: no data rows", entry
            elif expected is not None and name.endswith(("csv", "jsonl")):
                assert entry["status"] == "ingested", entry  # well-formed: never refused

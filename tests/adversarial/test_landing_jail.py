"""Landing is a jail (issue 16, problem 1): links out of it, globs climbing out of it and
absolute globs are refused, raw copies are private, and no file's content reaches an error,
a log line or a ``_system`` table."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from lakeshop.pipeline import system
from lakeshop.pipeline.sources import Source
from tests.conftest import cli, one_error_line
from tests.pipeline.landing import ingest

pytestmark = pytest.mark.slow

SECRET = "root:$6$s3cr3tHASHvalue$abcdefghijklmnop:19000:0:99999:7:::"
FIELDS = ["id", "val"]


def items() -> list[Source]:
    return [Source(name="items", path="*.csv", fields=FIELDS, required=["id"])]


def secret_file(tmp_path: Path) -> Path:
    outside = tmp_path / "etc"
    outside.mkdir()
    target = outside / "shadow"
    target.write_text(SECRET + "\n" + SECRET.replace("root", "daemon") + "\n")
    return target


def everything_written(lakehouse_root: Path) -> bytes:
    """Every byte of the lakehouse's ``_system`` tables and raw copies."""
    out = b""
    for path in sorted(lakehouse_root.rglob("*")):
        if path.is_file() and ("_system" in path.parts or "_raw" in path.parts):
            out += path.read_bytes()
    return out


def test_a_symlink_out_of_landing_is_refused_and_never_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = secret_file(tmp_path)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "items_2026-01-02.csv").symlink_to(target)
    with caplog.at_level(logging.DEBUG):
        out = ingest(tmp_path, {"items_2026-01-01.csv": b"id,val\n1,a\n"}, items())
    assert "items_2026-01-02.csv" not in out.files  # never logged as read, never copied
    outcome = next(o for o in out.summary.outcomes if o.name == "bronze.items")
    assert "outside the landing folder" in outcome.result.refused["items_2026-01-02.csv"]
    assert [r["_source_file"] for r in out.rows("bronze.items")] == ["items_2026-01-01.csv"]
    written = everything_written(out.lakehouse.root)
    assert b"s3cr3t" not in written and "s3cr3t" not in caplog.text
    # undisturbed: the same landing without the link gives the same bronze rows
    clean = ingest(tmp_path / "clean", {"items_2026-01-01.csv": b"id,val\n1,a\n"}, items())
    drop = {"_ingested_at", "_batch_id", "_delivered_at"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in out.rows("bronze.items")] == [
        {k: v for k, v in r.items() if k not in drop} for r in clean.rows("bronze.items")
    ]


def test_a_symlink_inside_landing_is_followed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "store").mkdir(parents=True)
    (landing / "store" / "real.txt").write_bytes(b"id,val\n1,a\n")
    (landing / "items.csv").symlink_to(landing / "store" / "real.txt")
    out = ingest(tmp_path, {}, items())
    assert out.files["items.csv"]["status"] == "ingested"
    assert [r["val"] for r in out.rows("bronze.items")] == ["a"]


def test_a_symlinked_folder_out_of_landing_is_refused(tmp_path: Path) -> None:
    target = secret_file(tmp_path)
    landing = tmp_path / "landing"
    landing.mkdir()
    (target.parent / "items.csv").write_text(SECRET + "\n")
    (landing / "sub").symlink_to(target.parent)
    out = ingest(tmp_path, {}, [Source(name="items", path="**/*.csv", fields=FIELDS)])
    assert out.files == {}
    assert b"s3cr3t" not in everything_written(out.lakehouse.root)


@pytest.mark.parametrize(
    "glob",
    ["../../../../etc/*", "/etc/pass*", "~/secrets/*.csv", "orders/../../x/*.csv", "C:/x/*.csv"],
)
def test_a_glob_may_not_climb_out_or_be_absolute(glob: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="landing folder"):
        Source(name="items", path=glob, fields=FIELDS)
    (tmp_path / "landing").mkdir()
    (tmp_path / "lakeshop.yml").write_text(
        f"sources:\n  orders:\n    path: '{glob}'\n    format: csv\n"
    )
    code, _, stderr = cli("--project", tmp_path, "status")
    line = one_error_line(stderr)
    assert code == 2 and "sources.orders.path" in line and "landing folder" in line, line


def test_raw_copies_are_private(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "open.csv").write_bytes(b"id,val\n1,a\n")
    os.chmod(landing / "open.csv", 0o644)
    (landing / "group.csv").write_bytes(b"id,val\n2,b\n")
    os.chmod(landing / "group.csv", 0o640)
    (landing / "mine.csv").write_bytes(b"id,val\n3,c\n")
    os.chmod(landing / "mine.csv", 0o600)
    out = ingest(tmp_path, {}, items())
    modes = {
        name: stat.S_IMODE((out.lakehouse.root / e["raw_path"]).stat().st_mode)
        for name, e in out.files.items()
    }
    assert modes == {"open.csv": 0o640, "group.csv": 0o640, "mine.csv": 0o600}


HOSTILE = {
    # a header that is a secret: the missing required column must not quote it
    "shadow.csv": SECRET.encode() + b"\n" + SECRET.encode() + b"\n",
    # duplicate column names made of secrets
    "dups.csv": f"id,{SECRET},{SECRET}\n1,2,3\n".encode(),
    # a CSV the parser refuses mid-file
    "parquet_named.csv": b"PAR1" + SECRET.encode() * 3,
}


def test_no_file_content_in_errors_logs_or_system_tables(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jsonl = Source(name="events", path="*.jsonl", format="jsonl", fields=FIELDS, required=["id"])
    files: dict[str, bytes | str] = {
        **HOSTILE,
        "keys.jsonl": f'{{"{SECRET}": 1, "{SECRET.upper()}": 2}}\n'.encode(),
        "secret.parquet.csv": b"id,val\n1,ok\n",
    }
    with caplog.at_level(logging.DEBUG):
        out = ingest(tmp_path, files, [*items(), jsonl])
    for name in [*HOSTILE, "keys.jsonl"]:
        assert out.files[name]["status"] == "error", (name, out.files[name])
    errors = " ".join(str(e["error"]) for e in out.files.values())
    assert "s3cr3t" not in errors.lower() and "bytes" in errors, errors
    assert "s3cr3t" not in caplog.text.lower()
    for table in (system.FILES, system.RUNS, system.EVENTS):
        text = str(system.read(out.lakehouse, table).to_pylist()).lower()
        assert "s3cr3t" not in text, table

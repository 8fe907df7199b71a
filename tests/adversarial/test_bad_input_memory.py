"""Bounded memory on bad input (issue 16, problem 4): a gzip bomb and a file of junk lines are
refused whole with a count, in bounded memory, recorded so that they are not read again until
re-delivered."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshop.pipeline.sources import FileOptions, Source
from tests.pipeline.landing import ingest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["id", "val"]

#: ingests tmp/landing in a child process and prints its peak resident memory (KiB): VmHWM,
#: its own address space's; ru_maxrss would carry over the parent's (a test worker grown to
#: 1.3 GiB by earlier tests) through the fork and exec
CHILD = """
import json, re, sys
from pathlib import Path
from lakeshop.pipeline.sources import Source
from tests.pipeline.landing import ingest
root = Path(sys.argv[1])
out = ingest(root, {}, [Source(name="items", path="*.csv*", fields=["id", "val"])])
files = {p: (e["status"], e["error"]) for p, e in out.files.items()}
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"rss_kib": peak, "files": files}))
"""


def write_bomb(path: Path, megabytes: int) -> None:
    """A header, then ``megabytes`` MB of junk lines (one column too many), gzipped."""
    line = b"junk,with,three,columns,of,text,and,more\n"
    block = line * ((1 << 20) // len(line))
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(b"id,val\n")
        for _ in range(megabytes):
            fh.write(block)


def test_a_gzip_bomb_is_refused_in_bounded_memory_and_not_read_again(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    write_bomb(landing / "bomb.csv.gz", 200)
    (landing / "fine.csv").write_text("id,val\n1,a\n")
    assert (landing / "bomb.csv.gz").stat().st_size < 1 << 20
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["rss_kib"] < 1 << 20, report  # peak under 1 GiB
    status, error = report["files"]["bomb.csv.gz"]
    assert status == "error" and "gzip bomb" in error, error
    assert report["files"]["fine.csv"][0] == "ingested"
    # recorded: the next run does not read it again
    again = ingest(tmp_path, {}, [Source(name="items", path="*.csv*", fields=FIELDS)])
    assert len(again.files) == 2 and again.summary.outcomes[0].result.files == 0


def test_too_many_malformed_lines_refuse_the_file_with_the_count(tmp_path: Path) -> None:
    junk = "id,val\n1,a\n" + "x,y,z\n" * 250 + "2,b\n"
    bad_json = '{"id": 1}\n' + "not json\n" * 250
    capped = FileOptions(max_rejected_lines=100)
    sources = [
        Source(name="items", path="*.csv", fields=FIELDS, options=capped),
        Source(name="events", path="*.jsonl", format="jsonl", fields=FIELDS, options=capped),
        Source(name="loose", path="loose/*.csv", fields=FIELDS),  # default cap: 10,000
    ]
    out = ingest(
        tmp_path,
        {"junk.csv": junk, "bad.jsonl": bad_json, "loose/junk.csv": junk},
        sources,
    )
    for name in ("junk.csv", "bad.jsonl"):
        entry = out.files[name]
        assert entry["status"] == "error" and entry["rows"] == 0, entry
        assert "250 malformed records" in entry["error"], entry["error"]
        assert "max_rejected_lines (100)" in entry["error"]
    loose = out.files["loose/junk.csv"]
    assert (loose["status"], loose["rows"], loose["rejected_lines"]) == ("ingested", 2, 250)
    assert out.rows("bronze.items") == []

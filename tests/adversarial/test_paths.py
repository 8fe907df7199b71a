"""Path tricks and odd landing entries: hostile file names, hidden and held-back files, FIFOs,
devices, link loops, hard links, files growing while read, empty and header-only files and
odd modified times. Each run ends with ``doctor``'s invariants holding (``ingest`` checks
them) and bronze equal to an undisturbed landing of the same content."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakeshop.pipeline import system
from lakeshop.pipeline.ingest import discovery
from lakeshop.pipeline.ingest.discovery import unmatched_files
from lakeshop.pipeline.sources import Source
from tests.pipeline.landing import Ingested, ingest

pytestmark = pytest.mark.slow

FIELDS = ["id", "val"]
CONTENT = ("id", "val", "_source_row", "_rescued_data")


def items(path: str = "**/*.csv") -> list[Source]:
    return [Source(name="items", path=path, fields=FIELDS, required=["id"])]


def bronze(out: Ingested, *, with_file: bool = True) -> list[tuple[Any, ...]]:
    keep = (*CONTENT, "_source_file") if with_file else CONTENT
    return sorted(tuple(r[k] for k in keep) for r in out.rows("bronze.items"))


HOSTILE_NAMES = [
    "a b.csv",
    "new\nline.csv",
    "$(touch PWNED).csv",
    "`touch PWNED`.csv",
    "x;rm -rf ~.csv",
    "'q\".csv",
    "-rf.csv",
    "a..b.csv",
    "\u202eexe.csv",  # right-to-left override: shows as "vsc.exe"
    "tab\there.csv",
    "back\\slash.csv",
    "star*.csv",
    "q?.csv",
    "[br].csv",
    "%s%n%x.csv",
    "{a,b}.csv",
]


def test_hostile_file_names_are_read_under_their_exact_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files: dict[str, bytes | str] = {n: f"id,val\n{i},v{i}\n" for i, n in enumerate(HOSTILE_NAMES)}
    out = ingest(tmp_path / "hostile", files, items())
    assert sorted(out.files) == sorted(HOSTILE_NAMES)
    assert {e["status"] for e in out.files.values()} == {"ingested"}
    assert not list(tmp_path.rglob("PWNED"))  # no name reached a shell
    for name, entry in out.files.items():  # the raw copy holds the file's bytes
        assert (out.lakehouse.root / entry["raw_path"]).read_text() == files[name]
    plain = {f"plain_{i}.csv": text for i, text in enumerate(files.values())}
    calm = ingest(tmp_path / "calm", plain, items())
    assert bronze(out, with_file=False) == bronze(calm, with_file=False)
    by_name = {r["_source_file"]: r["id"] for r in out.rows("bronze.items")}
    assert by_name == {n: str(i) for i, n in enumerate(HOSTILE_NAMES)}


def test_hidden_and_held_back_files_are_not_deliveries(tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {
        "ok.csv": "id,val\n1,a\n",
        ".orders.csv": "id,val\n2,hidden\n",  # an upload in progress, an editor's copy
        "...csv": "id,val\n5,dots\n",
        "._ok.csv": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X",  # macOS AppleDouble
        "_late/ok.csv": "id,val\n3,held back\n",
        "sub/.git/x.csv": "id,val\n4,hidden folder\n",
    }
    out = ingest(tmp_path, files, items())
    assert sorted(out.files) == ["ok.csv"]
    assert unmatched_files(tmp_path / "landing", {"items": items()[0]}) == []
    calm = ingest(tmp_path / "calm", {"ok.csv": "id,val\n1,a\n"}, items())
    assert bronze(out) == bronze(calm)
    # a glob naming the folder reads it
    late = ingest(tmp_path / "late", {"_late/ok.csv": "id,val\n3,held back\n"}, items("_late/*"))
    assert sorted(late.files) == ["_late/ok.csv"]


def test_fifos_devices_link_loops_and_folders_are_not_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    os.mkfifo(landing / "pipe.csv")  # opening it would block the run for ever
    (landing / "loop1.csv").symlink_to(landing / "loop2.csv")
    (landing / "loop2.csv").symlink_to(landing / "loop1.csv")
    (landing / "zero.csv").symlink_to("/dev/zero")  # endless
    (landing / "random.csv").symlink_to("/dev/urandom")
    (landing / "folder.csv").mkdir()
    (landing / "dangling.csv").symlink_to(landing / "nowhere.csv")
    out = ingest(tmp_path, {"ok.csv": "id,val\n1,a\n"}, items())
    assert sorted(out.files) == ["ok.csv"]
    refused = out.summary.outcomes[0].result.refused
    assert set(refused) <= {"zero.csv", "random.csv"}  # devices lie outside the landing folder
    calm = ingest(tmp_path / "calm", {"ok.csv": "id,val\n1,a\n"}, items())
    assert bronze(out) == bronze(calm)


def test_hard_links_are_files_of_the_landing_folder(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "elsewhere.txt").write_text("id,val\n7,linked in\n")
    os.link(tmp_path / "elsewhere.txt", landing / "linked.csv")  # put there by its owner
    (landing / "ok.csv").write_text("id,val\n1,a\n")
    os.link(landing / "ok.csv", landing / "ok_again.csv")
    out = ingest(tmp_path, {}, items())
    assert out.files["ok_again.csv"]["status"] == "duplicate"
    assert out.files["linked.csv"]["status"] == "ingested"
    assert [r[0] for r in bronze(out)] == ["1", "7"]


def growing(original: Callable[[Path], str], victim: str) -> Callable[[Path], str]:
    """``_sha256`` that appends a line to ``victim`` once it has hashed it: the file grows
    between being listed and being read (an exporter still writing it)."""

    def wrapped(path: Path) -> str:
        digest = original(path)
        if path.name == victim and "3," not in path.read_text():
            with path.open("a") as fh:
                fh.write("3,c\n")
        return digest

    return wrapped


def test_a_file_growing_while_read_is_read_whole_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "_sha256", growing(discovery._sha256, "items.csv"))
    out = ingest(
        tmp_path, {"items.csv": "id,val\n1,a\n2,b\n", "other.csv": "id,val\n9,z\n"}, items()
    )
    entry = out.files["items.csv"]
    assert entry["status"] == "vanished" and "changed while being read" in entry["error"]
    assert [r[0] for r in bronze(out)] == ["9"]  # neither the rows nor a raw copy kept
    assert not any("items.csv" in p.name for p in out.lakehouse.raw_dir.rglob("*"))
    monkeypatch.undo()
    again = ingest(tmp_path, {}, items())
    log = system.read(again.lakehouse, system.FILES).to_pylist()
    last = max((r for r in log if r["path"] == "items.csv"), key=lambda r: r["batch_id"])
    assert last["status"] == "ingested"
    raw = (again.lakehouse.root / last["raw_path"]).read_text()
    assert raw == "id,val\n1,a\n2,b\n3,c\n"
    calm = ingest(tmp_path / "calm", {"items.csv": raw, "other.csv": "id,val\n9,z\n"}, items())
    assert bronze(again) == bronze(calm)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "empty file"),
        ("blank.csv", b"  \n\r\n\t\n", "empty file"),
        ("header.csv", b"id,val\n", "header only"),
        ("header_crlf.csv", b"id,val\r\n\r\n", "header only"),
    ],
)
def test_empty_and_header_only_files_are_recorded_and_not_read_again(
    name: str, data: bytes, reason: str, tmp_path: Path
) -> None:
    out = ingest(tmp_path, {name: data, "ok.csv": "id,val\n1,a\n"}, items())
    assert out.files[name]["status"] == "error" and reason in out.files[name]["error"]
    calm = ingest(tmp_path / "calm", {"ok.csv": "id,val\n1,a\n"}, items())
    assert bronze(out) == bronze(calm)
    again = ingest(tmp_path, {}, items())
    assert again.summary.outcomes[0].result.files == 0  # recorded: not read again


@pytest.mark.parametrize(
    "stamp",
    [4_102_444_800.0, 253_402_300_799.0, -2_208_988_800.0, -1.0, 0.0],
    ids=["2100", "9999-12-31", "1900", "just-before-1970", "epoch"],
)
def test_odd_modified_times_are_recorded_as_they_are(stamp: float, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "odd.csv").write_text("id,val\n1,a\n")
    os.utime(landing / "odd.csv", (stamp, stamp))
    out = ingest(tmp_path, {}, items())
    assert out.files["odd.csv"]["status"] == "ingested"
    recorded = out.files["odd.csv"]["modified_at"]
    assert abs((recorded - out.rows("bronze.items")[0]["_delivered_at"]).total_seconds()) < 1
    again = ingest(tmp_path, {}, items())  # known by its stat: not read again
    assert again.summary.outcomes[0].result.files == 0

"""Files in motion (issue 16, problem 6): a landing file deleted between listing and reading
is recorded ``vanished``, the rest of its source goes on, and it is read when it lands again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakeshop.pipeline import system
from lakeshop.pipeline.ingest import discovery, mapping
from lakeshop.pipeline.sources import Source
from lakeshop.pipeline.strategies import ingest as ingest_strategy
from tests.pipeline.landing import ingest

pytestmark = pytest.mark.slow

FILES: dict[str, bytes | str] = {
    f"items_{d}.csv": f"id,val\n{d},v{d}\n".encode() for d in range(1, 5)
}


def items() -> list[Source]:
    return [Source(name="items", path="*.csv", fields=["id", "val"], required=["id"])]


def deleting(original: Callable[..., Any], victim: str, at: int) -> Callable[..., Any]:
    """``original`` that first deletes the landing file ``victim`` (its argument ``at`` is
    the file's path, or holds it as ``.path``): the file goes between listing and reading."""

    def wrapped(*args: Any) -> Any:
        path = args[at] if isinstance(args[at], Path) else args[at].path
        if path.name == victim:
            path.unlink(missing_ok=True)
        return original(*args)

    return wrapped


@pytest.mark.parametrize("stage", ["hashing", "reading"])
def test_a_file_gone_before_it_is_read_is_vanished_and_the_source_goes_on(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if stage == "hashing":
        monkeypatch.setattr(discovery, "_sha256", deleting(discovery._sha256, "items_2.csv", 0))
    else:
        read = deleting(mapping.read_file, "items_2.csv", 2)
        monkeypatch.setattr(ingest_strategy, "read_file", read)
    out = ingest(tmp_path, FILES, items())
    assert out.summary.status == "ok", [(o.name, o.error) for o in out.summary.failed]
    assert out.files["items_2.csv"]["status"] == "vanished"
    assert "between listing and reading" in out.files["items_2.csv"]["error"]
    assert sorted(r["id"] for r in out.rows("bronze.items")) == ["1", "3", "4"]
    monkeypatch.undo()
    # delivered again: read like any new file; the lakehouse equals an undisturbed run
    again = ingest(tmp_path, {"items_2.csv": FILES["items_2.csv"]}, items())
    log = system.read(again.lakehouse, system.FILES).to_pylist()
    latest = max((r for r in log if r["path"] == "items_2.csv"), key=lambda r: r["batch_id"])
    assert latest["status"] == "ingested"
    clean = ingest(tmp_path / "clean", FILES, items())
    key = ("id", "val", "_source_file", "_source_row")
    assert sorted(tuple(r[k] for k in key) for r in again.rows("bronze.items")) == sorted(
        tuple(r[k] for k in key) for r in clean.rows("bronze.items")
    )

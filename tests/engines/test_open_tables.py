"""Opened tables (engines/open_tables.py): reused while their logs are unchanged; while this
process is the sole writer, a table's log is looked at once and again only after a commit of
its own; another writer's commits are seen before and after."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.engines import delta_log, open_tables
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.maintain import maintain_table
from lakeshop.pipeline.lock import writer_lock


def rows(*keys: str) -> pa.Table:
    return pa.table({"k": list(keys), "_batch_id": pa.array([1] * len(keys), pa.int64())})


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each table's log was looked at (a listing on an object store)."""
    seen: Counter[str] = Counter()
    stamp, has_commit = open_tables.log_stamp, delta_log.has_commit

    def counted_stamp(path: Path) -> tuple[int, int] | None:
        seen[path.name] += 1
        return stamp(path)

    def counted_commit(path: Path) -> bool:
        seen[path.name] += 1
        return has_commit(path)

    monkeypatch.setattr(open_tables, "log_stamp", counted_stamp)
    monkeypatch.setattr(delta_log, "has_commit", counted_commit)
    return seen


def two_writers(root: Path) -> tuple[Lakehouse, Lakehouse]:
    """Two lakehouses on one root (two processes, as far as each knows): ``mine`` has read
    ``silver.t`` at one row, then ``theirs`` committed a second."""
    mine, theirs = Lakehouse(root), Lakehouse(root)
    mine.write("silver.t", rows("a"))
    assert mine.read("silver.t").num_rows == 1
    theirs.write("silver.t", rows("b"))
    return mine, theirs


def test_outside_the_lock_every_use_looks_at_the_log_and_sees_another_writer(
    tmp_path: Path, looks: Counter[str]
) -> None:
    mine, _ = two_writers(tmp_path)
    looks.clear()
    assert mine.read("silver.t").num_rows == 2
    assert mine.exists("silver.t") and mine.schema("silver.t").names == ["k", "_batch_id"]
    assert looks["t"] >= 3


def test_the_sole_writer_looks_once_and_again_only_after_its_own_commits(
    tmp_path: Path, looks: Counter[str]
) -> None:
    lh = Lakehouse(tmp_path)
    lh.write("silver.t", rows("a"))
    lh.write("silver.u", rows("x"))
    with writer_lock(lh):
        looks.clear()
        for _ in range(5):
            assert lh.exists("silver.t") and lh.read("silver.t").num_rows == 1
            assert lh.tables() == ["silver.t", "silver.u"]
            assert lh.version("silver.t") == 0
        # t: whether it holds a commit, and its snapshot's stamp; u: whether it holds one
        assert looks["t"] == 2 and looks["u"] == 1, looks
        for n, how in enumerate(("write", "merge", "delete"), start=2):
            if how == "write":
                lh.write("silver.t", rows("b"))
            elif how == "merge":
                lh.merge("silver.t", rows("c"), ["k"])
            else:
                lh.delete("silver.t", "k = 'c'")
            looks.clear()
            for _ in range(3):
                assert lh.version("silver.t") == n - 1
            assert looks["t"] == 1, (how, looks)  # once after the commit
        assert sorted(lh.read("silver.t").column("k").to_pylist()) == ["a", "b"]
        maintain_table(lh, "silver.t", 168)  # commits directly on the table, then says so
        assert lh.version("silver.t") == 4  # the compaction's commit
        lh.write("silver.new", rows("n"))  # a table created under the lock
        assert lh.exists("silver.new") and "silver.new" in lh.tables()


def test_before_and_after_the_lock_another_writers_commits_are_seen(tmp_path: Path) -> None:
    mine, theirs = two_writers(tmp_path)  # theirs committed before mine takes the lock
    with writer_lock(mine):
        assert mine.read("silver.t").num_rows == 2
    theirs.write("silver.t", rows("c"))  # after it released the lock
    assert mine.read("silver.t").num_rows == 3
    theirs.write("silver.gone", rows("g"))
    with writer_lock(mine):
        assert "silver.gone" in mine.tables()
    shutil.rmtree(theirs.path("silver.gone"))  # removed by another process, after the lock
    assert "silver.gone" not in mine.tables() and not mine.exists("silver.gone")


def test_a_commit_seen_by_another_thread_in_between_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that looked at the log while this process committed (another thread) does
    not make the table current: the next use looks again."""
    lh = Lakehouse(tmp_path)
    lh.write("silver.t", rows("a"))
    tables = lh._open  # the cache itself: the interleaving is made by hand
    path = lh.path("silver.t")
    with tables.sole_writer():
        real = open_tables.log_stamp

        def stamp_then_commit(p: Path) -> tuple[int, int] | None:
            found = real(p)  # read before the commit below ...
            tables.changed(p)  # ... which another thread makes meanwhile
            return found

        monkeypatch.setattr(open_tables, "log_stamp", stamp_then_commit)
        tables.latest(path, lambda: lh._open_table("silver.t"))
        assert not tables.exists(path, lambda _: False)  # not current, not seen present
        monkeypatch.setattr(open_tables, "log_stamp", real)
        tables.latest(path, lambda: lh._open_table("silver.t"))
        assert tables.exists(path, lambda _: False)  # looked at with no commit in between

"""The Delta lakehouse: what it answers from the log without reading data."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lakeshop.engines.lakehouse import Lakehouse


def test_latest_batch_comes_from_file_statistics_and_follows_commits(tmp_path: Path) -> None:
    lh = Lakehouse(tmp_path)
    assert lh.latest_batch("silver.t") is None  # no table yet
    lh.write("silver.t", pa.table({"k": ["a", "b"], "_batch_id": pa.array([1, 3], pa.int64())}))
    assert lh.latest_batch("silver.t") == 3
    lh.write("silver.t", pa.table({"k": ["c"], "_batch_id": pa.array([7], pa.int64())}))
    assert lh.latest_batch("silver.t") == 7
    lh.delete("silver.t", "_batch_id = 7")
    assert lh.latest_batch("silver.t") == 3
    lh.delete("silver.t", "_batch_id IS NOT NULL")
    assert lh.latest_batch("silver.t") == -1


def test_latest_batch_is_unknown_for_a_table_without_batches(tmp_path: Path) -> None:
    lh = Lakehouse(tmp_path)
    lh.write("_system.log", pa.table({"run_id": ["r1"]}))
    assert lh.latest_batch("_system.log") is None

"""The Delta lakehouse: what it answers from the log without reading data, and the
predicates delta-rs evaluates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakeshop.core.sqltext import Value, delta_literal, ident
from lakeshop.engines.lakehouse import TARGET_FILE_BYTES, Lakehouse
from lakeshop.ops.maintain import maintain_table


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


#: a column of each type a partial recompute's ``incremental_by`` may have, with the values a
#: predicate's lowest bound and ``IN`` list take
PREDICATES: dict[str, tuple[pa.Array, Value, tuple[Value, ...]]] = {
    "date": (
        pa.array([date(2026, 1, d) for d in range(1, 6)]),
        date(2026, 1, 4),
        (date(2026, 1, 1),),
    ),
    "text": (pa.array(["a", "it's", "b", "c\\", "d"]), "c\\", ("it's", "a")),
    "int": (pa.array([1, 2, 3, 4, 5], pa.int64()), 4, (1, 2)),
    "decimal": (
        pa.array([Decimal(f"{d}.50") for d in range(1, 6)], pa.decimal128(10, 2)),
        Decimal("4.50"),
        (Decimal("1.50"),),
    ),
    "float": (pa.array([0.1, 0.2, 0.3, 0.4, 0.5]), 0.4, (0.1,)),
}


@pytest.mark.parametrize("kind", list(PREDICATES))
def test_a_delta_predicate_selects_in_delta_rs_what_it_selects_in_duckdb(
    tmp_path: Path, kind: str
) -> None:
    """Predicates as a partial recompute writes them (a quoted column, delta_literal's
    literals): delta-rs replaces and deletes the rows DuckDB selects."""
    values, low, listed = PREDICATES[kind]
    rows = pa.table({"my col": values, "n": pa.array(range(len(values)), pa.int64())})
    by = ident("my col")
    predicate = f"{by} >= {delta_literal(low)} OR {by} IN {delta_literal(listed)}"
    con = duckdb.connect()
    con.register("rows", rows)
    kept = con.execute(f"SELECT n FROM rows WHERE NOT ({predicate}) ORDER BY n").fetchall()
    assert 0 < len(kept) < len(values)
    lh = Lakehouse(tmp_path)
    lh.write("gold.t", rows)
    lh.write("gold.t", rows.slice(0, 0), "overwrite", predicate=predicate)
    assert sorted(lh.delta("gold.t").to_pyarrow_table().column("n").to_pylist()) == [
        n for (n,) in kept
    ]
    lh.write("gold.u", rows)
    assert lh.delete("gold.u", predicate) == len(values) - len(kept)


def test_a_delta_predicate_keeps_its_timestamps_cast_from_text() -> None:
    """delta-rs reads no typed timestamp literal: a datetime keeps the form the strategies
    always wrote; a date is a typed literal, which delta-rs reads (above)."""
    moment = datetime(2026, 1, 2, 3, 4, 5, 6)
    assert delta_literal(moment) == "CAST('2026-01-02 03:04:05.000006' AS TIMESTAMP)"
    assert delta_literal((date(2026, 1, 2), moment)) == (
        "(DATE '2026-01-02', CAST('2026-01-02 03:04:05.000006' AS TIMESTAMP))"
    )
    assert duckdb.connect().execute(f"SELECT {delta_literal(moment)}").fetchall() == [(moment,)]


def _numbered(keys: range) -> pa.Table:
    """Rows of incompressible values (a key and two of its hashes), about 24 bytes each."""
    k = pa.array(keys, pa.int64())
    mixed = pa.array([(x * 2654435761) % 2**61 for x in keys], pa.int64())
    return pa.table({"k": k, "h": mixed, "g": pa.array([x ^ 0x5DEECE66D for x in keys])})


def test_a_table_keeps_its_files_small_through_merges_and_compaction(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path)
    lakehouse.write("gold.t", _numbered(range(400_000)), "overwrite")
    files = len(lakehouse.delta("gold.t").file_uris())
    assert files >= 2  # ~9.6 MB in 4 MB files
    # a merge touching every file rewrites them at the same size, not as one file
    lakehouse.merge("gold.t", _numbered(range(0, 400_000, 997)), ["k"])
    assert len(lakehouse.delta("gold.t").file_uris()) >= files
    # the day's small files are compacted up to the target size, the others left alone
    for day in range(3):
        lakehouse.write("gold.t", _numbered(range(2_000_000 + day, 2_000_100 + day)), "append")
    maintain_table(lakehouse, "gold.t", retention_hours=168)
    dt = lakehouse.delta("gold.t")
    added = pa.RecordBatchReader.from_stream(dt.get_add_actions(flatten=True)).read_all()
    sizes = added.column("size_bytes").to_pylist()
    assert len(sizes) >= files and max(sizes) < 2 * TARGET_FILE_BYTES, sizes
    assert sum(added.column("num_records").to_pylist()) == 400_300
    assert dt.metadata().configuration["delta.targetFileSize"] == str(TARGET_FILE_BYTES)

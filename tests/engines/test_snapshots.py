"""What changed between two Delta versions, by a column (engines/snapshots.py): the values of
the rows that differ, and the new version's rows holding them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.snapshots import changes, snapshot

SCHEMA = pa.schema([("day", pa.string()), ("id", pa.int64()), ("amount", pa.decimal128(18, 2))])


def rows(*items: tuple[str | None, int, str]) -> pa.Table:
    from decimal import Decimal

    return pa.table(
        {
            "day": [d for d, _, _ in items],
            "id": [i for _, i, _ in items],
            "amount": [Decimal(a) for _, _, a in items],
        },
        schema=SCHEMA,
    )


def touched_and_rows(
    lh: Lakehouse, old: int, new: int
) -> tuple[set[object], list[tuple[object, ...]]]:
    before, after = snapshot(lh, "t.sales", old), snapshot(lh, "t.sales", new)
    with changes(before, after, "day") as change:
        assert change is not None
        sent = pa.Table.from_batches(list(change.rows(["day", "id", "amount"], 2)), SCHEMA)
        found = set(change.touched.to_pylist())
    return found, sorted(
        ((r["day"], r["id"], str(r["amount"])) for r in sent.to_pylist()), key=repr
    )


def test_a_rewrite_sends_only_the_values_whose_rows_differ(tmp_path: Path) -> None:
    lh = Lakehouse(tmp_path)
    lh.write("t.sales", rows(("d1", 1, "1.00"), ("d1", 2, "2.00"), ("d2", 3, "3.00")))
    lh.write("t.sales", rows(("d3", 4, "4.00"), (None, 5, "5.00")))  # another file, kept
    # a rewrite of the first file: d1 copied unchanged, d2 changed, d4 new
    lh.write(
        "t.sales",
        rows(("d1", 1, "1.00"), ("d1", 2, "2.00"), ("d2", 3, "3.50"), ("d4", 6, "6.00")),
        "overwrite",
        predicate="day IN ('d1', 'd2', 'd4')",
    )
    found, sent = touched_and_rows(lh, 1, 2)
    assert found == {"d2", "d4"}
    assert sent == [("d2", 3, "3.50"), ("d4", 6, "6.00")]
    # an append: every value of the new files, and its rows in files both versions share
    lh.write("t.sales", rows(("d3", 7, "7.00"), (None, 8, "8.00")))
    found, sent = touched_and_rows(lh, 2, 3)
    assert found == {"d3", None}
    assert [r[:2] for r in sent] == sorted([("d3", 4), ("d3", 7), (None, 5), (None, 8)], key=repr)
    assert snapshot(lh, "t.sales", 2).files[0] in snapshot(lh, "t.sales", 3).files  # kept
    # a deleted value is touched, with no row left to send
    lh.write("t.sales", rows(("d1", 1, "1.00")), "overwrite", predicate="day IN ('d1')")
    found, sent = touched_and_rows(lh, 3, 4)
    assert found == {"d1"} and sent == [("d1", 1, "1.00")]
    lh.write("t.sales", rows(), "overwrite", predicate="day IN ('d1')")
    found, sent = touched_and_rows(lh, 4, 5)
    assert found == {"d1"} and sent == []

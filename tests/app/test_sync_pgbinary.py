"""Binary COPY (marker ``postgres``): Arrow values of every type the sync ships, with their
edges (signs, zero, the largest value a precision allows, scales from 0 to 18, NULLs, dates
and times far from 2000, empty and non-ASCII text, sliced arrays), reach a real PostgreSQL
exactly: the same as the CSV COPY of the same rows and as the values themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from lakeshop.app.sync import pgbinary
from lakeshop.app.sync.pgtypes import ArrowChecksum, differences, pg_columns
from lakeshop.app.sync.postgres import Dsn, Postgres
from lakeshop.app.sync.stream import binary_chunks, csv_chunks
from lakeshop.core.sqltext import table

pytestmark = pytest.mark.postgres

PG = "postgres"


def decimals(precision: int, scale: int) -> list[Decimal | None]:
    top = Decimal(10**precision - 1).scaleb(-scale)
    tiny = Decimal(1).scaleb(-scale)
    return [top, -top, Decimal(0), tiny, -tiny, None, Decimal("0.5") if scale else Decimal(7)]


ROWS = 7


def edge_table() -> pa.Table:
    columns: dict[str, Any] = {}
    for precision, scale in [(18, 2), (18, 0), (18, 18), (12, 6), (9, 4), (5, 5), (10, 3), (1, 0)]:
        columns[f"d{precision}_{scale}"] = pa.array(
            decimals(precision, scale), pa.decimal128(precision, scale)
        )
    columns |= {
        "i8": pa.array([-128, 127, 0, None, 1, -1, 5], pa.int8()),
        "i16": pa.array([-32768, 32767, 0, None, 1, -1, 5], pa.int16()),
        "i32": pa.array([-(2**31), 2**31 - 1, 0, None, 1, -1, 5], pa.int32()),
        "i64": pa.array([-(2**63), 2**63 - 1, 0, None, 1, -1, 5], pa.int64()),
        "u8": pa.array([0, 255, 1, None, 2, 3, 4], pa.uint8()),
        "u16": pa.array([0, 65535, 1, None, 2, 3, 4], pa.uint16()),
        "u32": pa.array([0, 2**32 - 1, 1, None, 2, 3, 4], pa.uint32()),
        "f32": pa.array([1.5, -0.25, 0.0, None, 3.0, -0.5, 2.0], pa.float32()),
        "f64": pa.array([1 / 3, -1e10, 0.0, None, 2.5e-7, 5.0, -2.5], pa.float64()),
        "b": pa.array([True, False, None, True, False, True, None]),
        "s": pa.array(["", "naïve ✓", None, 'q"u,o\nte', "\\N", "x" * 300, "€"]),
        "ls": pa.array(["a", None, "", "ü", "long " * 50, "z", "\t"], pa.large_string()),
        "d": pa.array(
            [
                date(1, 1, 1),
                date(9999, 12, 31),
                date(2000, 1, 1),
                None,
                date(1969, 12, 31),
                date(1970, 1, 1),
                date(2026, 2, 28),
            ]
        ),
        "ts": pa.array(
            [
                datetime(1, 1, 1),
                datetime(9999, 12, 31, 23, 59, 59, 999999),
                datetime(2000, 1, 1),
                None,
                datetime(1969, 7, 20, 20, 17, 40, 500),
                datetime(1999, 12, 31, 23, 59, 59, 999999),
                datetime(2026, 1, 1, 1, 2, 3, 4),
            ],
            pa.timestamp("us"),
        ),
        "tsz": pa.array(
            [datetime(2026, 1, 1, 12, tzinfo=UTC)] * 3
            + [None] * 2
            + [datetime(1900, 1, 1, tzinfo=UTC)] * 2,
            pa.timestamp("us", tz="UTC"),
        ),
        "tms": pa.array([0, 1, -1, None, 10**12, 5, 6], pa.timestamp("ms")),
    }
    return pa.table(columns)


def test_supported_types_and_fallbacks() -> None:
    assert pgbinary.supports(edge_table().schema)
    for kind in [pa.decimal128(19, 2), pa.uint64(), pa.timestamp("ns"), pa.date64()]:
        assert not pgbinary.supports(pa.schema([("x", kind)]))


def copy_both(dsn: str, data: pa.Table) -> tuple[list[Any], list[Any]]:
    """The rows of ``data`` COPYed binary into one table and as CSV into another."""
    cols = pg_columns("t", data.schema)
    names = [c.name for c in cols]
    found = []
    with Postgres(Dsn("X", dsn)) as pg:
        for name, render in [("bin", binary_chunks), ("csv", csv_chunks)]:
            pg.create_table("edge", name, cols)
            sql = f"COPY {table('edge', name, dialect=PG)} FROM STDIN " + (
                "(FORMAT binary)" if name == "bin" else "(FORMAT csv)"
            )
            with pg.conn.cursor() as cur, cur.copy(sql.encode()) as copy:
                for chunk, _ in render(data.to_batches(max_chunksize=3), names):
                    copy.write(chunk)
            checksum = ArrowChecksum(cols)
            for batch in data.to_batches():
                checksum.add(batch)
            assert not differences(cols, checksum.values(), pg.checksum("edge", name, cols))
    with psycopg.connect(dsn) as conn:
        conn.execute(b"SET TimeZone = 'UTC'")
        for name in ("bin", "csv"):
            rows = conn.execute(f"SELECT * FROM edge.{name}".encode()).fetchall()
            found.append(sorted(rows, key=repr))
    return found[0], found[1]


def test_binary_copy_equals_csv_copy_and_the_values(pg_dsn: str) -> None:
    data = edge_table()
    binary, csv = copy_both(pg_dsn, data)
    assert len(binary) == ROWS
    assert binary == csv
    expected = sorted((tuple(r.values()) for r in data.to_pylist()), key=repr)
    # Arrow's unsigned and float32 values as PostgreSQL types them
    assert [tuple(float(v) if isinstance(v, float) else v for v in r) for r in binary] == [
        tuple(float(v) if isinstance(v, float) else v for v in r) for r in expected
    ]


def test_a_sliced_batch_sends_its_own_rows(pg_dsn: str) -> None:
    data = edge_table()
    sliced = pa.Table.from_batches([b.slice(2, 4) for b in data.to_batches()])
    binary, csv = copy_both(pg_dsn, sliced)
    assert len(binary) == 4 and binary == csv

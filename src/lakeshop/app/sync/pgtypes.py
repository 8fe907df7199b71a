"""Arrow types as PostgreSQL types, exactly, and the content checksum both sides compute.

| Arrow | PostgreSQL |
|---|---|
| decimal128(p, s) | numeric(p, s) |
| int8 / int16, int32, int64 (and unsigned) | smallint, integer, bigint (uint64: numeric(20, 0)) |
| float32, float64 | real, double precision |
| bool | boolean |
| string (any variant) | text |
| date32 / date64 | date |
| timestamp without / with time zone | timestamp / timestamptz (microseconds) |

The checksum is, per column, what both databases compute exactly from the same values: the
count of non-NULL values and, by type, the sum (numbers; money in its decimal scale), the
number of UTF-8 bytes (text: as exact as characters, and cheaper to count), the number of TRUE
(booleans), the sum of days since 1970 (dates) or of whole seconds since 1970 (timestamps), and
the smallest and largest value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.core.errors import LakeshopError
from lakeshop.core.sqltext import ident

PG = "postgres"

Family = Literal["number", "float", "text", "bool", "date", "timestamp"]


class UnsupportedType(LakeshopError):
    """A column whose Arrow type has no exact PostgreSQL type here."""

    def __init__(self, table: str, column: str, kind: pa.DataType):
        super().__init__(
            f"table {table}: column {column!r} has type {kind}, which the PostgreSQL sync does "
            "not ship (supported: decimals, integers, floats, booleans, text, dates, timestamps); "
            "exclude the table (sync.postgres.exclude) or cast the column in its SQL"
        )


@dataclass(frozen=True)
class PgColumn:
    """A column as PostgreSQL stores it."""

    name: str
    pg_type: str
    family: Family

    def definition(self) -> str:
        return f"{ident(self.name, PG)} {self.pg_type}"


def pg_column(table: str, field: pa.Field) -> PgColumn:
    """The PostgreSQL column for an Arrow field (:class:`UnsupportedType` when none)."""
    t = field.type
    kind: tuple[str, Family] | None = None
    if pa.types.is_decimal(t):
        kind = (f"numeric({t.precision},{t.scale})", "number")
    elif pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        kind = ("smallint", "number")
    elif pa.types.is_int32(t) or pa.types.is_uint16(t):
        kind = ("integer", "number")
    elif pa.types.is_int64(t) or pa.types.is_uint32(t):
        kind = ("bigint", "number")
    elif pa.types.is_uint64(t):
        kind = ("numeric(20,0)", "number")
    elif pa.types.is_float32(t):
        kind = ("real", "float")
    elif pa.types.is_float64(t):
        kind = ("double precision", "float")
    elif pa.types.is_boolean(t):
        kind = ("boolean", "bool")
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        kind = ("text", "text")
    elif pa.types.is_date(t):
        kind = ("date", "date")
    elif pa.types.is_timestamp(t):
        kind = ("timestamptz" if t.tz else "timestamp", "timestamp")
    if kind is None:
        raise UnsupportedType(table, field.name, t)
    return PgColumn(field.name, kind[0], kind[1])


def pg_columns(table: str, schema: pa.Schema) -> list[PgColumn]:
    return [pg_column(table, f) for f in schema]


# --- checksum -------------------------------------------------------------------------------

#: (label, value) pairs, in the order both sides compute them
Checksum = list[tuple[str, Any]]


def pg_checksum_select(columns: Iterable[PgColumn]) -> str:
    """The select list computing the checksum in PostgreSQL (after ``count(*)``)."""
    return ", ".join(["count(*)", *(sql for c in columns for _, sql in _terms(c))])


def labels(columns: Iterable[PgColumn]) -> list[str]:
    """What each value of the checksum is, for the message of a mismatch."""
    return ["rows", *(label for c in columns for label, _ in _terms(c))]


def _terms(c: PgColumn) -> list[tuple[str, str]]:
    """(label, PostgreSQL expression) of each value ``c`` adds to the checksum, in the order
    :class:`ArrowChecksum` computes them."""
    q, n = ident(c.name, PG), c.name
    terms = [(f"count({n})", f"count({q})")]
    if c.family in ("number", "float"):
        terms.append((f"sum({n})", f"sum({q})"))
    elif c.family == "text":
        terms.append((f"bytes({n})", f"coalesce(sum(octet_length({q})), 0)"))
    elif c.family == "bool":
        terms.append((f"true({n})", f"count(*) FILTER (WHERE {q})"))
    elif c.family == "date":
        terms.append((f"days({n})", f"sum({q} - DATE '1970-01-01')"))
    else:
        terms.append((f"seconds({n})", f"sum(floor(extract(epoch FROM {q})))::bigint"))
    if c.family not in ("number", "float", "text", "bool"):  # dates and times: their range too
        terms += [(f"min({n})", f"min({q})"), (f"max({n})", f"max({q})")]
    return terms


class ArrowChecksum:
    """The checksum of Arrow batches, accumulated batch by batch (vectorised per batch)."""

    def __init__(self, columns: list[PgColumn]):
        self.columns = columns
        self.rows = 0
        self._parts: list[list[Any]] = [[] for _ in columns]

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for i, c in enumerate(self.columns):
            self._parts[i].append(_aggregate(c, batch.column(c.name)))

    def values(self) -> list[Any]:
        out: list[Any] = [self.rows]
        for c, parts in zip(self.columns, self._parts, strict=True):
            out += _combine(c, parts)
        return out


def _aggregate(c: PgColumn, col: pa.Array) -> list[Any]:
    count = len(col) - col.null_count
    if c.family in ("number", "float"):
        return [count, pc.sum(col).as_py()]
    if c.family == "text":
        return [count, pc.sum(pc.binary_length(col.cast(pa.string()))).as_py() or 0]
    if c.family == "bool":
        return [count, pc.sum(col.cast(pa.int64())).as_py() or 0]
    if c.family == "date":
        days = col.cast(pa.date32()).cast(pa.int32()).cast(pa.int64())
        return [count, pc.sum(days).as_py(), pc.min(col).as_py(), pc.max(col).as_py()]
    micros = pc.cast(col, pa.timestamp("us", col.type.tz), safe=False).cast(pa.int64())
    truncated = pc.divide(micros, 1_000_000)  # integers: toward zero; floor below
    below = pc.and_(pc.less(micros, 0), pc.not_equal(pc.multiply(truncated, 1_000_000), micros))
    seconds = pc.subtract(truncated, below.cast(pa.int64()))
    return [count, pc.sum(seconds).as_py(), pc.min(col).as_py(), pc.max(col).as_py()]


def _combine(c: PgColumn, parts: list[list[Any]]) -> list[Any]:
    def total(i: int) -> Any:
        found = [p[i] for p in parts if p[i] is not None]
        return sum(found[1:], found[0]) if found else None

    def pick(i: int, f: Any) -> Any:
        found = [p[i] for p in parts if p[i] is not None]
        return f(found) if found else None

    count = sum(p[0] for p in parts)
    if c.family in ("number", "float"):
        return [count, total(1)]
    if c.family in ("text", "bool"):
        return [count, total(1) or 0]
    return [count, total(1), pick(2, min), pick(3, max)]


def differences(columns: list[PgColumn], delta: list[Any], postgres: list[Any]) -> list[str]:
    """The checksum values that differ, as ``label: delta ≠ postgres`` (floats to 1e-9)."""
    out = []
    for label, a, b in zip(labels(columns), delta, postgres, strict=True):
        if not _same(a, b):
            out.append(f"{label}: {a} in Delta, {b} in PostgreSQL")
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)
        return abs(fa - fb) <= 1e-9 * max(1.0, abs(fa), abs(fb))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(a) == Decimal(b)
    return bool(a == b)

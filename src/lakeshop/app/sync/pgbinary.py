"""Arrow batches in PostgreSQL's binary COPY format, built column by column with numpy.

``COPY … FROM STDIN (FORMAT binary)`` spares PostgreSQL parsing text: each value arrives as
the bytes its type's receive function reads (measured: parsing ``fact_sales`` as CSV costs
PostgreSQL about 45 % more than reading it binary). The rows are written without Python code per
row: per column, the values are converted at once (big-endian integers, days and microseconds
since 2000-01-01, ``numeric`` as base-10000 digit groups) and scattered into the output buffer
at offsets computed from every field's length.

``numeric`` gets a fixed number of digit groups per column, enough for its precision, with
``dscale`` its scale: PostgreSQL strips the leading and trailing zero groups itself. Types
without an exact, cheap binary form here (decimals over 18 digits, ``uint64``, nanosecond
timestamps, ``date64``) make :func:`supports` false, and that table goes as CSV.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

#: the stream's signature, flags and header extension length
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
#: the end of the stream: a tuple of -1 fields
TRAILER = struct.pack(">h", -1)

#: 1970-01-01 in PostgreSQL's epoch (2000-01-01): days, microseconds
_DAYS_2000 = 10_957
_MICROS_2000 = _DAYS_2000 * 86_400_000_000
_TO_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}

Bytes = npt.NDArray[np.uint8]


def supports(schema: pa.Schema) -> bool:
    """Whether every column of ``schema`` has a binary form here."""
    return all(_supported(f.type) for f in schema)


def _supported(t: pa.DataType) -> bool:
    if pa.types.is_decimal(t):
        return bool(pa.types.is_decimal128(t) and t.precision <= 18)
    if pa.types.is_timestamp(t):
        return t.unit in _TO_MICROS
    return (
        (pa.types.is_integer(t) and not pa.types.is_uint64(t))
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date32(t)
    )


def encode(batch: pa.RecordBatch) -> memoryview:
    """The batch's rows as binary COPY tuples (no header or trailer)."""
    n = batch.num_rows
    count = pa.scalar(struct.pack(">h", batch.num_columns), pa.binary())
    fields = [_field(batch.column(i)) for i in range(batch.num_columns)]
    # each row: its field count, then every field's length and bytes (Arrow's C++ joins them)
    rows = pc.binary_join_element_wise(count, *fields, _NOTHING)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * rows.offset)
    data = rows.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


_NOTHING = pa.scalar(b"", pa.binary())
#: a NULL field: its length -1, no bytes
_NULL = pa.scalar(struct.pack(">i", -1), pa.binary())


def _fixed(array: pa.Array, values: Bytes) -> pa.Array:
    """Fields of fixed width: the length, then each row of ``values`` (NULLs: length -1)."""
    n, width = values.shape
    matrix = np.empty((n, 4 + width), dtype=np.uint8)
    matrix[:, :4] = np.frombuffer(struct.pack(">i", width), dtype=np.uint8)
    matrix[:, 4:] = values
    kind = pa.binary(4 + width)
    fields = pa.FixedSizeBinaryArray.from_buffers(kind, n, [None, pa.py_buffer(matrix)])
    return _nulls(array, fields.cast(pa.binary()))


def _nulls(array: pa.Array, fields: pa.Array) -> pa.Array:
    if array.null_count == 0:
        return fields
    return pc.if_else(pc.is_valid(array), fields, _NULL)


def _valid(array: pa.Array) -> npt.NDArray[np.bool_]:
    if array.null_count == 0:
        return np.ones(len(array), dtype=np.bool_)
    return np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _numbers(array: pa.Array, dtype: str) -> Bytes:
    """Fixed-width big-endian values (NULLs as zeros, never written)."""
    zero = pa.scalar(False) if pa.types.is_boolean(array.type) else pa.scalar(0, array.type)
    values = np.asarray(array.fill_null(zero).to_numpy(zero_copy_only=False))
    converted = values.astype(dtype)
    return converted.view(np.uint8).reshape(len(array), converted.dtype.itemsize)


def _field(array: pa.Array) -> pa.Array:
    """The column's fields: each row's length and bytes, as one binary value per row."""
    t = array.type
    if pa.types.is_boolean(t):
        return _fixed(array, _numbers(array, "u1"))
    if pa.types.is_integer(t):
        width = {8: 2, 16: 2, 32: 4, 64: 8}[t.bit_width]
        if pa.types.is_unsigned_integer(t):  # into the next signed type (as pg_column maps)
            width = {8: 2, 16: 4, 32: 8}[t.bit_width]
        return _fixed(array, _numbers(array, f">i{width}"))
    if pa.types.is_floating(t):
        return _fixed(array, _numbers(array, f">f{t.bit_width // 8}"))
    if pa.types.is_date32(t):
        days = pc.subtract(array.cast(pa.int32()), _DAYS_2000)
        return _fixed(array, _numbers(days, ">i4"))
    if pa.types.is_timestamp(t):
        micros = pc.multiply(array.cast(pa.int64()), _TO_MICROS[t.unit])
        return _fixed(array, _numbers(pc.subtract(micros, _MICROS_2000), ">i8"))
    if pa.types.is_decimal(t):
        return _fixed(array, _numeric(array, t.precision, t.scale))
    return _text(array)


def _text(array: pa.Array) -> pa.Array:
    """UTF-8 bytes as Arrow holds them, after their length."""
    data = array.cast(pa.binary())
    lengths = pc.binary_length(data).fill_null(0)
    prefix = _numbers(lengths, ">i4")
    kind = pa.binary(4)
    heads = pa.FixedSizeBinaryArray.from_buffers(kind, len(array), [None, pa.py_buffer(prefix)])
    joined = pc.binary_join_element_wise(heads.cast(pa.binary()), data.fill_null(b""), _NOTHING)
    return _nulls(array, joined)


def _numeric(array: pa.Array, precision: int, scale: int) -> Bytes:
    """``numeric``: ndigits, weight, sign, dscale, then base-10000 digit groups, as many per
    value as the precision needs (integer groups, then fraction groups of 4 decimals)."""
    n = len(array)
    raw = np.frombuffer(array.buffers()[1], dtype="<i8", count=2 * (array.offset + n))
    # the low 64 bits: exact below 10**18 (NULLs' slots may hold anything: zeroed)
    unscaled = np.where(_valid(array), raw[2 * array.offset :: 2], 0)
    negative = unscaled < 0
    magnitude = np.abs(unscaled).astype(np.uint64)
    whole = magnitude // np.uint64(10**scale)
    fraction = magnitude % np.uint64(10**scale)
    integer_groups = -(-(precision - scale) // 4)
    fraction_groups = -(-scale // 4)
    groups: list[npt.NDArray[np.uint64]] = []
    for i in range(integer_groups):  # most significant first
        groups.append((whole // np.uint64(10_000 ** (integer_groups - 1 - i))) % np.uint64(10_000))
    for j in range(fraction_groups):
        left = scale - 4 * j  # decimals from this group on
        if left >= 4:
            groups.append((fraction // np.uint64(10 ** (left - 4))) % np.uint64(10_000))
        else:
            groups.append((fraction % np.uint64(10**left)) * np.uint64(10 ** (4 - left)))
    count = len(groups)
    matrix = np.empty((n, 4 + count), dtype=">i2")
    matrix[:, 0] = count
    matrix[:, 1] = integer_groups - 1  # the weight of the first group
    matrix[:, 2] = np.where(negative, 0x4000, 0)
    matrix[:, 3] = scale
    for k, g in enumerate(groups):
        matrix[:, 4 + k] = g.astype(np.int16)
    return matrix.view(np.uint8).reshape(n, 2 * (4 + count))

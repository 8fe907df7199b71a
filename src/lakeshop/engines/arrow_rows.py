"""Python rows as an Arrow table without importing pandas.

pyarrow converts Python objects (``Table.from_pylist``, ``pa.array``, a scalar operand) only
after importing pandas, to tell whether they are pandas objects: about 0.3 CPU s, a fifth of
a run that has nothing to do. Its JSON reader does not; a handful of rows (the ``_system``
tables' bookkeeping) go through it instead.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

_EPOCH = date(1970, 1, 1)
#: the types the JSON reader parses from what :func:`_encode` writes
_SIMPLE = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)


def rows_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` (dicts keyed by column; a missing key is NULL) as a table of ``schema``, the
    same as ``pa.Table.from_pylist``, which it falls back to for types or values the JSON
    reader does not take exactly."""
    if not rows:
        return empty_table(schema)
    if not all(any(ok(f.type) for ok in _SIMPLE) or _is_time(f.type) for f in schema):
        return pa.Table.from_pylist(rows, schema=schema)
    times = {f.name: pa.types.is_timestamp(f.type) for f in schema if _is_time(f.type)}
    try:
        lines = "".join(
            json.dumps(
                {f: _time(r.get(f), times[f]) if f in times else r.get(f) for f in schema.names},
                allow_nan=False,
            )
            + "\n"
            for r in rows
        )
        table = pajson.read_json(
            io.BytesIO(lines.encode()),
            read_options=pajson.ReadOptions(use_threads=False),
            parse_options=pajson.ParseOptions(explicit_schema=schema),
        )
    except (TypeError, ValueError, pa.ArrowInvalid):  # NaN, an object JSON does not know
        return pa.Table.from_pylist(rows, schema=schema)
    return table.select(schema.names).cast(schema)


def empty_table(schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` without rows (``schema.empty_table()`` imports pandas)."""
    return pa.Table.from_batches([], schema=schema)


def arrow_stream(data: Any) -> pa.Table:
    """An object of the Arrow stream interface (deltalake's arro3 tables) as a pyarrow table
    (``pa.table`` imports pandas to tell whether it is a data frame)."""
    return pa.RecordBatchReader.from_stream(data).read_all()


def _is_time(t: pa.DataType) -> bool:
    """Naive timestamps (ISO text) and dates (days since the epoch)."""
    return (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_date32(t)


def _time(value: object, timestamp: bool) -> object:
    """A timestamp column's naive datetime as ISO text, a date column's date as days since the
    epoch; anything else (an aware time, a date in a timestamp column) raises TypeError, and
    the rows go through ``from_pylist``."""
    if value is None:
        return None
    if timestamp and isinstance(value, datetime) and value.tzinfo is None:
        return value.isoformat()
    if not timestamp and isinstance(value, date) and not isinstance(value, datetime):
        return (value - _EPOCH).days
    raise TypeError(f"{value!r} is left to from_pylist")

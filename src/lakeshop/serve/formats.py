"""Query results as HTTP answers: JSON, Arrow IPC (stream) or CSV.

CSV is safe to open in a spreadsheet: a text cell starting with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return) is prefixed with ``'``, so it is read as text, not a formula
(OWASP's advice on CSV injection). Done on whole Arrow columns, not row by row.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from fastapi import Response

from lakeshop.app.access.govern import TRUNCATED

Format = Literal["json", "arrow", "csv"]
ARROW_TYPE = "application/vnd.apache.arrow.stream"
_FORMULA = r"^[=+\-@\t\r]"


def choose(fmt: str | None, accept: str | None) -> Format:
    """The answer's format: ``format`` when given, else from the Accept header, else JSON."""
    if fmt in ("json", "arrow", "csv"):
        return fmt  # type: ignore[return-value]
    accept = (accept or "").lower()
    if ARROW_TYPE in accept:
        return "arrow"
    if "text/csv" in accept:
        return "csv"
    return "json"


def truncated(table: pa.Table) -> bool:
    return (table.schema.metadata or {}).get(TRUNCATED) == b"true"


def answer(table: pa.Table, fmt: Format, filename: str = "result") -> Response:
    """``table`` in ``fmt``; the ``X-Lakeshop-Truncated`` header says whether it was cut."""
    headers = {"X-Lakeshop-Truncated": str(truncated(table)).lower()}
    if fmt == "arrow":
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Response(sink.getvalue(), media_type=ARROW_TYPE, headers=headers)
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers=headers)
    body = {
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "rows": table.to_pylist(),
        "row_count": table.num_rows,
        "truncated": truncated(table),
    }
    return Response(
        json.dumps(body, default=_json_value), media_type="application/json", headers=headers
    )


def to_csv(table: pa.Table) -> bytes:
    """CSV of ``table``, every text cell that could start a formula escaped."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        elif pa.types.is_nested(column.type):
            column = pa.array(
                [
                    None if v is None else json.dumps(v, default=_json_value)
                    for v in column.to_pylist()
                ],
                pa.string(),
            )
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    sink = io.BytesIO()
    pacsv.write_csv(pa.table(columns, names=table.column_names), sink)
    return sink.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)

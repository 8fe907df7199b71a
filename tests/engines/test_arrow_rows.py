"""Python rows as Arrow tables without pandas: the same tables as ``from_pylist``."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from lakeshop.engines.arrow_rows import arrow_stream, empty_table, rows_table
from lakeshop.pipeline import system

SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("ratio", pa.float64()),
        ("count", pa.int64()),
        ("flag", pa.bool_()),
    ]
)


def test_rows_read_back_equal_to_from_pylist():
    rows = [
        {
            "text": 'quote " backslash \\ line\nbreak é 😀',
            "at": datetime(2026, 12, 5, 3, 4, 5, 123456),
            "day": date(1969, 12, 31),
            "ratio": 0.1,
            "count": 2**62,
            "flag": True,
        },
        {"text": "", "at": datetime(2026, 1, 1), "day": date(2026, 2, 28), "ratio": -1e-300},
        {},  # every column NULL
    ]
    table = rows_table(rows, SCHEMA)
    assert table.schema == SCHEMA
    assert table.equals(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert table.to_pylist()[0]["text"] == rows[0]["text"]


def test_values_json_cannot_carry_exactly_go_through_from_pylist():
    aware = [{"at": datetime(2026, 1, 1, 5, tzinfo=UTC)}]
    assert rows_table(aware, SCHEMA).equals(pa.Table.from_pylist(aware, schema=SCHEMA))
    assert rows_table(aware, SCHEMA).column("at")[0].as_py() == datetime(2026, 1, 1, 5)
    nan = rows_table([{"ratio": float("nan")}], SCHEMA).column("ratio")[0].as_py()
    assert math.isnan(nan)


def test_a_wrong_type_fails_as_from_pylist_does():
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        rows_table([{"count": "not a number"}], SCHEMA)


def test_every_system_table_schema_takes_the_json_path_and_empty_tables_keep_schemas():
    for name, schema in system.SCHEMAS.items():
        assert rows_table([], schema).schema == schema, name
        assert empty_table(schema).num_rows == 0
        assert rows_table([{}], schema).equals(pa.Table.from_pylist([{}], schema=schema)), name


def test_no_pandas_is_imported():
    """The point of the module: a run with nothing to do imports no pandas (0.3 CPU s)."""
    code = (
        "import sys, datetime, pyarrow as pa\n"
        "from lakeshop.engines.arrow_rows import arrow_stream, empty_table, rows_table\n"
        "from lakeshop.pipeline import system\n"
        "rows_table([{'run_id': 'r', 'batch_id': 1, 'full_refresh': True,"
        " 'started_at': datetime.datetime(2026, 1, 1)}], system.SCHEMAS[system.RUNS])\n"
        "empty_table(system.SCHEMAS[system.EVENTS])\n"
        "arrow_stream(pa.RecordBatchReader.from_batches(pa.schema([]), []))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert arrow_stream(pa.RecordBatchReader.from_batches(SCHEMA, [])).schema == SCHEMA


def test_a_date_in_a_timestamp_column_is_refused_as_from_pylist_refuses_it():
    """Not written as a number of days, which the JSON reader would take as seconds."""
    rows = [{"at": date(2026, 1, 2)}]
    with pytest.raises(pa.ArrowTypeError):
        pa.Table.from_pylist(rows, schema=SCHEMA)
    with pytest.raises(pa.ArrowTypeError):
        rows_table(rows, SCHEMA)

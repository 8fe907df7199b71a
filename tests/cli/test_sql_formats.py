"""``lakeshop sql --format csv|json`` renders every column: lists, structs and maps as JSON."""

from __future__ import annotations

import csv
import io
import json

from lakeshop.app.project import Project
from tests.conftest import cli

NESTED = (
    "SELECT 1 AS id, ['late', 'it''s'] AS tags, {'code': 'X', 'n': [1, 2]} AS detail, "
    "map(['k'], [2]) AS counts, CAST(NULL AS VARCHAR[]) AS nothing "
    "FROM gold.agg_daily_sales LIMIT 1"
)


def test_csv_writes_nested_columns_as_json_text(observed: Project) -> None:
    code, out, err = cli("--project", observed.directory, "sql", NESTED, "--format", "csv")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert json.loads(row["tags"]) == ["late", "it's"]
    assert json.loads(row["detail"]) == {"code": "X", "n": [1, 2]}
    assert json.loads(row["counts"]) == {"k": 2}
    assert (row["id"], row["nothing"]) == ("1", "")


def test_json_writes_nested_columns_as_json_values(observed: Project) -> None:
    code, out, err = cli("--project", observed.directory, "sql", NESTED, "--format", "json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["tags"] == ["late", "it's"] and row["counts"] == {"k": 2}
    assert row["detail"] == {"code": "X", "n": [1, 2]} and row["nothing"] is None


def test_a_quarantine_table_reads_as_csv(observed: Project) -> None:
    sql = "SELECT * FROM silver.orders__quarantine ORDER BY _source_file, _source_row"
    code, out, err = cli("--project", observed.directory, "sql", sql, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows, "the observed history quarantines orders"
    assert all(isinstance(json.loads(r["_failed_expectations"]), list) for r in rows)

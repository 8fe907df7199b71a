"""A mapping's ``where:`` (rows left out, counted as filtered), ``lookup:`` (reference columns
joined by key before mapping) and their checks when the project loads."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.doctor import diagnose
from lakeshop.pipeline import system

from .conftest import deliver, rows, run_ok

ORDERS_WITH_WHERE = """
landing: exports
sources:
  orders:
    path: "orders/*.csv"
    where: {where}
    mapping: {{order_id: id, order_ts: at, store_id: {{const: S1}}}}
"""


def _config(where: str) -> str:
    return ORDERS_WITH_WHERE.format(where=where)


def test_where_is_checked_against_the_exports_columns_when_the_project_loads(tmp_path: Path):
    deliver(tmp_path / "exports", {"orders/o_1.csv": "id,at,kind\n1,2026-01-01T10:00:00,sale\n"})
    (tmp_path / "lakeshop.yml").write_text(_config("\"kind = 'sale'\""))
    assert Project.load(tmp_path).sources["orders"].where == "kind = 'sale'"

    (tmp_path / "lakeshop.yml").write_text(_config("\"knd = 'sale'\""))
    with pytest.raises(ConfigError) as unknown:
        Project.load(tmp_path)
    assert "sources.orders.where" in str(unknown.value)
    assert "unknown column 'knd'" in str(unknown.value) and "did you mean 'kind'" in str(
        unknown.value
    )

    (tmp_path / "lakeshop.yml").write_text(_config("\"kind = = 'sale'\""))
    with pytest.raises(ConfigError) as broken:
        Project.load(tmp_path)
    assert "sources.orders.where" in str(broken.value)
    assert "not a SQL condition" in str(broken.value)


def test_rows_left_out_by_where_are_counted_as_filtered_and_a_file_without_its_column_refused(
    tmp_path: Path,
):
    # an empty CSV value is an empty text: NULLIF makes the third row's condition NULL
    (tmp_path / "lakeshop.yml").write_text(_config("\"NULLIF(kind, '') <> 'test'\""))
    deliver(
        tmp_path / "exports",
        {
            "orders/o_1.csv": (
                "id,at,kind\n1,2026-01-01T10:00:00,sale\n2,2026-01-01T11:00:00,test\n"
                "3,2026-01-01T12:00:00,\n"
            ),
            "orders/o_2.csv": "id,at\n4,2026-01-02T10:00:00\n",
        },
    )
    project = Project.load(tmp_path)
    run_ok(project)
    assert [r["order_id"] for r in rows(project, "SELECT order_id FROM bronze.orders")] == ["1"]
    files = {r["path"]: r for r in rows(project, "SELECT * FROM _system.files")}
    # a row for which the condition is not true (false or NULL) is left out
    assert (files["orders/o_1.csv"]["rows"], files["orders/o_1.csv"]["rows_filtered"]) == (1, 2)
    assert files["orders/o_2.csv"]["status"] == "error"
    assert "kind of sources.orders.where" in files["orders/o_2.csv"]["error"]
    [event] = rows(project, "SELECT * FROM _system.events WHERE table_name = 'bronze.orders'")
    assert (event["rows_in"], event["rows_written"], event["rows_filtered"]) == (3, 1, 2)
    assert diagnose(project).ok, diagnose(project).problems


def test_doctor_reads_an_event_log_from_before_filtered_rows(tmp_path: Path):
    project = Project.load(tmp_path)
    old = pa.schema([f for f in system.SCHEMAS[system.EVENTS] if f.name != "rows_filtered"])
    counts = [("r-ok", 5, 4, 1, 0), ("r-bad", 5, 3, 1, 0)]
    events = [
        {"run_id": r, "table_name": "silver.orders", "rows_in": i, "rows_written": w}
        | {"rows_quarantined": q, "rows_deduplicated": d, "status": "ok"}
        for r, i, w, q, d in counts
    ]
    lakehouse: Lakehouse = project.lakehouse()
    data = pa.Table.from_pylist([{f: e.get(f) for f in old.names} for e in events], schema=old)
    lakehouse.write(system.EVENTS, data, "append")
    problems = [p for p in diagnose(project).problems if "accounting" in p]
    assert problems == [
        "accounting: run r-bad table silver.orders: rows_in 5 ≠ 3 written + 1 quarantined + "
        "0 deduplicated + 0 filtered"
    ], problems


LINES_WITH_STATUS = """
landing: exports
sources:
  order_items:
    path: "lines/*.csv"
    lookup:
      orders:
        path: "orders/*.csv"
        on: {order_id: id}
        columns: {order_status: state}
    mapping: {item_status: order_status}
"""


def _statuses(project: Project) -> dict[tuple[str, str], str | None]:
    found = rows(project, "SELECT _source_file, order_id, item_status FROM bronze.order_items")
    return {(r["_source_file"], r["order_id"]): r["item_status"] for r in found}


def test_a_lookup_joins_by_key_as_delivered_and_a_full_refresh_joins_the_same_rows(
    exported: Callable[..., Project],
):
    line = "order_id,line_no,product_id,quantity,unit_price\n{}\n"
    project = exported(
        LINES_WITH_STATUS,
        {
            "orders/a.csv": "id,state\nO1,placed\nO2,shipped\nO1,delivered\n",
            # a key found again in a later file: the last row of the last file wins
            "orders/b.csv": "id,state\nO2,cancelled\n",
            "lines/1.csv": line.format("O1,1,P1,1,5.00\nO2,1,P1,1,5.00\nO3,1,P1,1,5.00"),
        },
    )
    assert project.sources["order_items"].lookup["orders"].on == {"order_id": "id"}
    run_ok(project)
    first = {
        ("lines/1.csv", "O1"): "delivered",
        ("lines/1.csv", "O2"): "cancelled",
        ("lines/1.csv", "O3"): None,  # a key the lookup does not have: NULL
    }
    assert _statuses(project) == first
    recorded = rows(project, "SELECT lookups FROM _system.files WHERE path = 'lines/1.csv'")
    assert "orders/a.csv" not in recorded[0]["lookups"]  # raw copies, not landing paths
    assert "_lookup/order_items/" in recorded[0]["lookups"]

    # the lookup file changes: files ingested from now on join the new rows, earlier ones
    # keep the rows of their delivery
    landing = project.landing
    deliver(
        landing,
        {
            "orders/b.csv": "id,state\nO2,shipped\nO3,placed\n",
            "lines/2.csv": line.format("O3,2,P1,1,5.00"),
        },
        delivery=2,
    )
    run_ok(project)
    second = {**first, ("lines/2.csv", "O3"): "placed"}
    assert _statuses(project) == second

    shutil.rmtree(landing)
    landing.mkdir()
    run_ok(project, full_refresh=True)
    assert _statuses(project) == second

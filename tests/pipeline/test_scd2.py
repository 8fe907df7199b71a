"""SCD2: versions in order whatever order they arrive in; re-sends add nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.runner import run
from lakeshop.pipeline.sources import Source
from tests.conftest import assert_healthy

HISTORY_SQL = """
SELECT id, city, TRY_CAST(updated_at AS TIMESTAMP) AS updated_at, _source_file, _source_row
FROM bronze.people
"""
TABLES = [
    Table("bronze.people", Kind.INGEST, source="people"),
    Table(
        "silver.people_history",
        Kind.APPEND,
        sql=HISTORY_SQL,
        keys=("id", "updated_at"),
        sequence="updated_at",
    ),
    Table(
        "gold.dim_people",
        Kind.SCD2,
        sql="SELECT id, city, updated_at FROM silver.people_history",
        keys=("id",),
        sequence="updated_at",
        surrogate_key="person_sk",
    ),
]
SOURCE = Source(path="people/*.csv", name="people", fields=["id", "city", "updated_at"])


def land(root: Path, name: str, rows: list[str]) -> None:
    path = root / "landing" / "people" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,city,updated_at\n" + "".join(r + "\n" for r in rows))


def build(root: Path, full_refresh: bool = False) -> list[dict]:
    lakehouse = Lakehouse(root / "lakehouse")
    with DuckDBEngine(lakehouse) as engine:
        summary = run(
            Graph.build(TABLES),
            engine,
            landing=root / "landing",
            sources={"people": SOURCE},
            full_refresh=full_refresh,
        )
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    assert_healthy(Graph.build(TABLES), lakehouse)
    rows = lakehouse.read("gold.dim_people").to_pylist()
    return sorted(
        ({k: v for k, v in r.items() if k != "_batch_id"} for r in rows),
        key=lambda r: (r["id"] or "", r["valid_from"]),
    )


def ts(day: int) -> datetime:
    return datetime(2026, 1, day)


def test_late_versions_take_their_place_and_resends_add_nothing(tmp_path: Path):
    land(tmp_path, "p1.csv", ["a,Austin,2026-01-01T00:00:00", "a,Chicago,2026-01-03T00:00:00"])
    build(tmp_path)
    land(
        tmp_path,
        "p2.csv",
        [
            "a,Boston,2026-01-02T00:00:00",  # older than the current version, arrives later
            "a,Chicago,2026-01-03T00:00:00",  # identical re-send
            "a,Chicago,2026-01-04T00:00:00",  # same attributes, later: not a new version
            "b,Denver,2026-01-02T00:00:00",
        ],
    )
    rows = build(tmp_path)
    a = [
        (r["city"], r["valid_from"], r["valid_to"], r["is_current"]) for r in rows if r["id"] == "a"
    ]
    epoch, end = datetime(1900, 1, 1), datetime(9999, 12, 31)
    assert a == [
        ("Austin", epoch, ts(2), False),
        ("Boston", ts(2), ts(3), False),
        ("Chicago", ts(3), end, True),
    ]
    unknown = [r for r in rows if r["person_sk"] == "-1"]
    assert len(unknown) == 1 and unknown[0]["id"] is None
    assert len({r["person_sk"] for r in rows}) == len(rows)

    # the same files in one go give the same history, surrogate keys included
    again = tmp_path / "again"
    land(again, "p1.csv", ["a,Austin,2026-01-01T00:00:00", "a,Chicago,2026-01-03T00:00:00"])
    (again / "landing" / "people" / "p2.csv").write_text(
        (tmp_path / "landing" / "people" / "p2.csv").read_text()
    )
    assert build(again) == rows
    assert build(tmp_path, full_refresh=True) == rows

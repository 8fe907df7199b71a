"""How ingest records each landing file's outcome: rows, rejected lines, or an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.runner import run
from lakeshop.pipeline.sources import Source

FIELDS = ["id", "val"]


def ingest(
    root: Path, files: dict[str, bytes | str]
) -> tuple[Lakehouse, dict[str, dict[str, Any]]]:
    """Land ``files`` (name -> content) and ingest them into bronze.csv_items / jsonl / parquet."""
    landing = root / "landing"
    for name, content in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    sources = {
        "csv_items": Source(path="*.csv", name="csv_items", fields=FIELDS, required=["id"]),
        "jsonl_items": Source(path="*.jsonl", name="jsonl_items", format="jsonl", fields=FIELDS),
        "pq_items": Source(path="*.parquet", name="pq_items", format="parquet", fields=FIELDS),
    }
    graph = Graph.build([Table(f"bronze.{s}", Kind.INGEST, source=s) for s in sources])
    lakehouse = Lakehouse(root / "lakehouse")
    with DuckDBEngine(lakehouse) as engine:
        run(graph, engine, landing=landing, sources=sources)
    log = system.read(lakehouse, system.FILES).to_pylist()
    return lakehouse, {r["path"]: r for r in log}


def outcome(entry: dict[str, Any]) -> tuple[str, int, int, str | None]:
    return entry["status"], entry["rows"], entry["rejected_lines"], entry["error"]


def test_file_outcomes_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    pq_path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": [1, 2], "val": ["a", None]}), pq_path)
    lakehouse, log = ingest(
        tmp_path,
        {
            "good.csv": 'id,val\r\n1,a\r\n2\r\n\r\n3,"c\nd"\r\n',
            "header.csv": "id,val\n",
            "empty.csv": "",
            "blank.csv": " \n\n",
            "binary.csv": bytes(range(256)) * 4,
            "latin.csv": "id,val\n1,café\n".encode("latin-1"),
            "dup.csv": "id,id\n1,2\n",
            "nokey.csv": "key,val\n1,2\n",
            "good.jsonl": '{"id": 1, "val": {"n": 1}}\n[1]\n{"id": 2\n',
            "case.jsonl": '{"id": 1}\n{"ID": 2}\n',
            "good.parquet": pq_path.read_bytes(),
            "bad.parquet": b"PAR1 not really",
        },
    )
    assert outcome(log["good.csv"]) == ("ingested", 2, 1, None)
    assert outcome(log["header.csv"]) == ("error", 0, 0, "header only: no data rows")
    assert outcome(log["empty.csv"]) == ("error", 0, 0, "empty file (0 bytes)")
    assert outcome(log["blank.csv"]) == ("error", 0, 0, "empty file (3 bytes of whitespace only)")
    assert outcome(log["binary.csv"])[:3] == ("error", 0, 0)
    assert "binary content" in log["binary.csv"]["error"]
    assert log["latin.csv"]["error"] == "not valid utf-8 text at byte 12; set options.encoding"
    assert "duplicate column name(s) 'id'" in log["dup.csv"]["error"]
    assert log["nokey.csv"]["error"].startswith("missing required column(s) id")
    assert outcome(log["good.jsonl"]) == ("ingested", 1, 2, None)
    assert "differ only in case" in log["case.jsonl"]["error"]
    assert outcome(log["good.parquet"]) == ("ingested", 2, 0, None)
    assert log["bad.parquet"]["error"].startswith("unreadable Parquet")
    assert all(entry["raw_path"] for entry in log.values())  # even failed files are kept

    bronze = lakehouse.read("bronze.csv_items").to_pylist()
    assert [(r["_source_file"], r["_source_row"], r["id"], r["val"]) for r in bronze] == [
        ("good.csv", 1, "1", "a"),
        ("good.csv", 3, "3", "c\nd"),
    ]
    rejects = lakehouse.read("bronze.csv_items__rejects").to_pylist()
    assert [
        (r["_source_file"], r["_source_row"], r["line_text"], r["reason"]) for r in rejects
    ] == [("good.csv", 2, "2", "expected 2 columns, found 1")]
    jsonl_rejects = lakehouse.read("bronze.jsonl_items__rejects").to_pylist()
    assert [(r["_source_row"], r["reason"]) for r in jsonl_rejects] == [
        (2, "not a JSON object"),
        (3, "malformed JSON"),
    ]
    assert lakehouse.read("bronze.jsonl_items").to_pylist()[0]["val"] == '{"n":1}'


def test_column_names_with_quotes_and_latin1_jsonl_are_ingested(tmp_path: Path):
    from lakeshop.engines.duckdb.engine import DuckDBEngine
    from lakeshop.engines.lakehouse import Lakehouse
    from lakeshop.pipeline.graph import Graph
    from lakeshop.pipeline.model import Kind, Table
    from lakeshop.pipeline.runner import run
    from lakeshop.pipeline.sources import FileOptions, Source

    landing = tmp_path / "landing"
    (landing / "j").mkdir(parents=True)
    (landing / "c").mkdir(parents=True)
    (landing / "j" / "a.jsonl").write_bytes(
        '{"id": "1", "name": "Zoë", "we\\"ird": 1}\n'.encode("latin-1")
    )
    (landing / "c" / "a.csv").write_text('id,"odd""col"\n1,x\n')
    sources = {
        "j": Source(
            name="j",
            path="j/*.jsonl",
            format="jsonl",
            fields=["id", "name"],
            options=FileOptions(encoding="latin-1"),
        ),
        "c": Source(name="c", path="c/*.csv", fields=["id"]),
    }
    graph = Graph.build(
        [Table("bronze.j", Kind.INGEST, source="j"), Table("bronze.c", Kind.INGEST, source="c")]
    )
    lakehouse = Lakehouse(tmp_path / "lh")
    with DuckDBEngine(lakehouse) as engine:
        summary = run(graph, engine, landing=landing, sources=sources)
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    j = lakehouse.read("bronze.j").to_pylist()
    assert j[0]["name"] == "Zoë" and 'we\\"ird' in j[0]["_rescued_data"]
    c = lakehouse.read("bronze.c").to_pylist()
    assert c[0]["id"] == "1" and "odd" in c[0]["_rescued_data"]

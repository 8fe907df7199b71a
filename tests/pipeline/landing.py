"""Land files in a folder and ingest them into bronze (schema evolution and hostile files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.runner import RunSummary, run
from lakeshop.pipeline.sources import Source
from tests.conftest import assert_healthy


@dataclass
class Ingested:
    """One ingest run: its summary, the lakehouse and ``_system.files`` keyed by path."""

    summary: RunSummary
    lakehouse: Lakehouse
    files: dict[str, dict[str, Any]]
    graph: Graph

    def note(self, table: str) -> str:
        return next(o.result.note for o in self.summary.outcomes if o.name == table)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.lakehouse.read(table).to_pylist()


def ingest(root: Path, files: dict[str, bytes | str], sources: list[Source]) -> Ingested:
    """Land ``files`` (name -> content) in ``root/landing`` (added to those already there) and
    run ingest for ``sources`` into ``root/lakehouse``."""
    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    by_name = {s.name: s for s in sources}
    graph: Graph = Graph.build([Table(f"bronze.{s}", Kind.INGEST, source=s) for s in by_name])
    lakehouse = Lakehouse(root / "lakehouse")
    with DuckDBEngine(lakehouse) as engine:
        summary = run(graph, engine, landing=landing, sources=by_name)
    assert_healthy(graph, lakehouse)  # whatever the files were, doctor's invariants hold
    log = system.read(lakehouse, system.FILES).to_pylist()
    return Ingested(summary, lakehouse, {r["path"]: r for r in log}, graph)

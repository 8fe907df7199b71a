"""What the user's doors (CLI, tests, notebooks) call: run, query, status, quality."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from lakeshop.errors import TableNotFound
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import referenced_tables
from lakeshop.pipeline.model import Kind
from lakeshop.pipeline.runner import Listener, RunSummary
from lakeshop.pipeline.runner import run as run_graph
from lakeshop.project import Project


def run(
    project: Project,
    *,
    target: str | None = None,
    select: Iterable[str] | None = None,
    full_refresh: bool = False,
    trigger: str = "manual",
    listener: Listener | None = None,
) -> RunSummary:
    """Run the project's pipeline on a target (incremental unless ``full_refresh``)."""
    name, _ = project.target(target)
    with project.engine(target) as engine:
        return run_graph(
            project.graph,
            engine,
            landing=project.landing,
            sources=project.sources,
            target=name,
            select=select,
            full_refresh=full_refresh,
            trigger=trigger,
            listener=listener,
        )


def query(project: Project, sql: str, target: str | None = None) -> pa.Table:
    """Run a read-only query over ``schema.table`` names (declared views included)."""
    lakehouse = project.lakehouse(target)
    stored = set(lakehouse.tables())
    with project.engine(target) as engine:
        pending = sorted(referenced_tables(sql))
        bound: set[str] = set()
        while pending:
            name = pending.pop()
            if name in bound:
                continue
            bound.add(name)
            declared = project.graph.tables.get(name)
            if declared is not None and declared.kind is Kind.VIEW:
                pending.extend(project.graph.upstream[name])
                engine.bind_view(name, declared.sql)
            elif name in stored:
                engine.bind_table(name)
            else:
                raise TableNotFound(name, sorted(stored))
        return engine.fetch(sql)


def status(project: Project, target: str | None = None) -> pa.Table:
    """Per declared table: rows, last refresh, last run status and error."""
    lakehouse = project.lakehouse(target)
    events = system.read(lakehouse, system.EVENTS).to_pylist()
    last: dict[str, dict[str, object]] = {}
    for e in events:
        last[str(e["table_name"])] = e
    rows = []
    for name in project.graph.order():
        table = project.graph.tables[name]
        exists = table.stored and lakehouse.exists(name)
        dt = lakehouse.delta(name) if exists else None
        meta = dt.history(1)[0] if dt else {}
        ev = last.get(name, {})
        rows.append(
            {
                "table": name,
                "kind": table.kind.value,
                "rows": dt.to_pyarrow_dataset().count_rows() if dt else 0,
                "version": dt.version() if dt else None,
                "last_refresh_ms": meta.get("timestamp"),
                "last_status": ev.get("status"),
                "last_error": ev.get("error"),
            }
        )
    return pa.Table.from_pylist(rows)


def quality(
    project: Project, run_id: str | None = None, table: str | None = None, target: str | None = None
) -> pa.Table:
    """Pass rates per table and expectation for one run (default: the latest with checks)."""
    lakehouse = project.lakehouse(target)
    exps = system.read(lakehouse, system.EXPECTATIONS)
    if exps.num_rows == 0:
        return exps
    runs = exps.column("run_id").to_pylist()
    chosen = run_id or max(runs)
    rows = [
        r
        | {"pass_rate": round(r["passed"] / (r["passed"] + r["failed"]), 4) if r["passed"] + r["failed"] else 1.0}
        for r in exps.to_pylist()
        if r["run_id"] == chosen and (table is None or r["table_name"] == table)
    ]
    return pa.Table.from_pylist(rows) if rows else exps.schema.empty_table()


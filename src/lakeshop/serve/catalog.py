"""``GET /api/tables``: the catalog a role may see.

Each table the role is granted: its columns (type, whether masked for the role, the definition
from ``docs/gold.md``), row count (counted through the
role's row filters when it has some), Delta version and last commit time (freshness), its
expectations with their pass rates in the latest run that checked rows, the tables it is
computed from and feeds, each a link to its own catalog entry, and its lineage graph upstream
and downstream over the tables the role may see (:mod:`lakeshop.serve.lineage`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlglot import exp

from lakeshop.app import api
from lakeshop.app.access.govern import GovernedSession
from lakeshop.core import sqltext
from lakeshop.retail.docs import gold_page
from lakeshop.serve.auth import Authenticated, audit_of, context
from lakeshop.serve.lineage import lineage_graph

router = APIRouter(prefix="/api")

_ROW = re.compile(r"^\|\s*`([a-z_]+)`\s*\|([^|]*)\|(.*)\|\s*$")
_SEGMENT = re.compile(r"(?:^|[;,]\s+)(`[a-z_0-9]+`(?:\s*(?:and|,)\s*`[a-z_0-9]+`)*[^;]*)")


@router.get("/tables")
def tables(request: Request, who: Authenticated) -> list[dict[str, Any]]:
    """Every table the caller's role may read, with columns, counts, freshness, lineage."""
    audit_of(request).action = "tables"
    session = context(request).session(who)
    visible = session.visible_tables()
    return [describe(session, name, set(visible)) for name in visible]


@router.get("/tables/{name}")
def table(name: str, request: Request, who: Authenticated) -> dict[str, Any]:
    """One table of the catalog (404 when the role may not see it)."""
    record = audit_of(request)
    record.action, record.object = "table", name
    session = context(request).session(who)
    if name not in session.visible_tables():
        raise HTTPException(404, f"no table '{name}' visible to role {who.role}")
    return describe(session, name)


def describe(
    session: GovernedSession, name: str, visible: set[str] | None = None
) -> dict[str, Any]:
    """The catalog entry of ``name`` as ``session``'s principal sees it (``visible``: the
    tables the principal may read, when known)."""
    project = session.project
    lakehouse = project.lakehouse(session.target)
    graph = project.graph
    declared = graph.tables.get(name)
    docs = table_docs().get(name.split(".", 1)[1], {}) if name.startswith("gold.") else {}
    entry: dict[str, Any] = {
        "name": name,
        "kind": declared.kind.value
        if declared
        else ("system" if name.startswith("_system.") else "table"),
        "description": docs.get("", None),
        "link": f"/api/tables/{name}",
    }
    if lakehouse.exists(name):
        schema = lakehouse.schema(name)
        masks = session.policy
        entry["columns"] = [
            {
                "name": f.name,
                "type": str(f.type),
                "masked": masks.masks_for(session.principal.role, name, f.name) is not None,
                "description": docs.get(f.name),
            }
            for f in schema
        ]
        filtered = bool(session.role.filters_for(name))
        if filtered:
            count = exp.select(exp.Count(this=exp.Star())).from_(sqltext.to_table(*name.split(".")))
            entry["rows"] = session.query(sqltext.render(count)).column(0)[0].as_py()
        else:
            entry["rows"] = lakehouse.delta(name).to_pyarrow_dataset().count_rows()
        entry["rows_filtered"] = filtered
        commit = lakehouse.last_commit(name)
        entry["version"] = lakehouse.version(name)
        entry["last_commit_ms"] = commit.get("timestamp")
    if declared is not None:  # the latest run's checks of the table
        checks = api.quality(project, table=name, target=session.target).to_pylist()
        entry["expectations"] = [
            {k: c[k] for k in ("expectation", "action", "passed", "failed", "pass_rate", "run_id")}
            for c in checks
        ]
    visible = visible if visible is not None else set(session.visible_tables())
    upstream = sorted(graph.upstream.get(name, ())) if declared else []
    downstream = sorted(t for t, ups in graph.upstream.items() if name in ups)
    entry["upstream"] = [_link(t, visible) for t in upstream]
    entry["downstream"] = [_link(t, visible) for t in downstream]
    entry["lineage"] = lineage_graph(graph, name, visible)
    return entry


def _link(name: str, visible: set[str]) -> dict[str, Any]:
    return {"name": name, "link": f"/api/tables/{name}" if name in visible else None}


@functools.cache
def table_docs() -> dict[str, dict[str, str]]:
    """Per gold table of ``docs/gold.md`` (shipped in the package as ``lakeshop/retail/gold.md``,
    so an installed wheel has it too): ``""`` its grain, and each column's definition (the part
    of the columns cell that starts with the column's name)."""
    found: dict[str, dict[str, str]] = {}
    for line in gold_page().splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        name, grain, cell = match.group(1), match.group(2).strip(), match.group(3).strip()
        entry = found.setdefault(name, {"": grain})
        for segment in _SEGMENT.findall(cell):
            text = segment.strip().rstrip(".")
            for column in re.findall(r"`([a-z_0-9]+)`", text.split("=")[0].split(" (")[0]):
                entry.setdefault(column, text)
    return found

"""The lineage graph of a catalog entry: a table, every table upstream and downstream of it
(as ``lakeshop lineage`` lists them), laid out in columns for the Catalog page to draw.

Only tables the role may see are nodes. A hidden table between two visible ones is drawn
as the edge it carries (``silver.orders`` hidden: ``bronze.orders → gold.fact_orders``), so
the graph stays connected without naming what the role may not read.
"""

from __future__ import annotations

import functools
from typing import Any

from lakeshop.pipeline.graph import Graph


def lineage_graph(graph: Graph, name: str, visible: set[str]) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [[from, to], ...]}`` around ``name``.

    Each node: ``name``, ``schema``, ``depth`` (0 for ``name``; -n for a table n steps
    upstream along the longest path, +n downstream), ``row`` (its place in its column),
    ``link`` (its catalog entry). Edges run from a table to a table computed from it.
    """
    if name not in graph.tables:  # a system table: computed from nothing declared
        return {"nodes": [_node(name, 0, 0)], "edges": []}
    around = {name} | graph.ancestors(name) | graph.downstream(name)
    shown = {t for t in around if t in visible} | {name}

    def inputs(table: str) -> set[str]:
        """The shown tables ``table`` is computed from, through hidden ones."""
        found: set[str] = set()
        pending = list(graph.upstream.get(table, ()))
        seen: set[str] = set()
        while pending:
            up = pending.pop()
            if up in seen or up not in around:
                continue
            seen.add(up)
            if up in shown:
                found.add(up)
            else:
                pending.extend(graph.upstream.get(up, ()))
        return found

    edges = sorted((up, t) for t in shown for up in inputs(t))
    feeds: dict[str, set[str]] = {t: set() for t in shown}
    reads: dict[str, set[str]] = {t: set() for t in shown}
    for up, down in edges:
        feeds[up].add(down)
        reads[down].add(up)

    @functools.cache
    def steps_up(table: str) -> int:  # longest path from ``table`` to ``name``
        return 0 if table == name else 1 + max(steps_up(d) for d in feeds[table] if d in upward)

    @functools.cache
    def steps_down(table: str) -> int:  # longest path from ``name`` to ``table``
        return 0 if table == name else 1 + max(steps_down(u) for u in reads[table] if u in downward)

    upward = {t for t in shown if t == name or t in graph.ancestors(name)}
    downward = {t for t in shown if t == name or t in graph.downstream(name)}
    depth = {t: -steps_up(t) for t in upward} | {t: steps_down(t) for t in downward}
    columns: dict[int, list[str]] = {}
    for table in sorted(shown):
        columns.setdefault(depth[table], []).append(table)
    nodes = [_node(table, d, row) for d in sorted(columns) for row, table in enumerate(columns[d])]
    return {"nodes": nodes, "edges": [list(e) for e in edges]}


def _node(name: str, depth: int, row: int) -> dict[str, Any]:
    return {
        "name": name,
        "schema": name.split(".", 1)[0],
        "depth": depth,
        "row": row,
        "link": f"/api/tables/{name}",
    }

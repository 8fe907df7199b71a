"""Lineage: the tables a table reads and feeds, and the columns a column is computed from.

Table lineage comes from the graph. Column lineage is derived from each table's SQL with
SQLGlot, one table at a time (CTEs and subqueries resolved within it), down to bronze and then
to the landing export's columns through the source's mapping. Columns a strategy adds (audit
columns, SCD2 keys and validity) are explained rather than traced through SQL.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from lakeshop.core.errors import LakeshopError, SqlError, TableNotFound
from lakeshop.pipeline.graph import Graph, cached
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.sources import Const, Expr, Source

if TYPE_CHECKING:
    from lakeshop.engines.lakehouse import Lakehouse

#: columns ingestion adds to every bronze row
INGEST_COLUMNS = {
    "_rescued_data": "added at ingestion: export columns outside the contract, as JSON",
    "_source_file": "added at ingestion: the landing file the row came from",
    "_source_row": "added at ingestion: the row's record number in its file",
    "_ingested_at": "added at ingestion: start time of the run that ingested the row",
    "_batch_id": "added at ingestion: the batch (run) that ingested the row",
    "_delivered_at": "added at ingestion: the file's modified time when it was first logged",
}
#: columns a strategy owns on every stored table (a SQL value for them is replaced)
OWNED_COLUMNS = {
    "_row_hash": "added by the {kind} strategy: hash of the row's values, to skip identical versions",
    "_batch_id": "added by the {kind} strategy: the batch (run) that wrote the row",
}
SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
MAX_EXPRESSION = 110


@dataclass(frozen=True)
class Ingested:
    """What the ingestion log says of a source's export: how many files bronze holds, and
    how many of them lacked each optional field (read as NULL)."""

    files: int = 0
    lacking: dict[str, int] = field(default_factory=dict)


def ingested_exports(lakehouse: Lakehouse, sources: dict[str, Source]) -> dict[str, Ingested]:
    """Per source, :class:`Ingested` from ``_system.files`` (the latest entry of each
    delivery whose rows bronze holds, and its schema change)."""
    from lakeshop.pipeline import system
    from lakeshop.pipeline.changes import latest_deliveries, refused
    from lakeshop.pipeline.ingest.mapping import missing_optional

    log = system.read(lakehouse, system.FILES).to_pylist()
    out = {}
    for name in sources:
        mine = [r for r in log if r["source"] == name]
        kept = [r for r in latest_deliveries(mine) if not refused(r)]
        lacking = Counter(f for r in kept for f in missing_optional(r["schema_change"]))
        out[name] = Ingested(len(kept), dict(lacking))
    return out


@dataclass
class ColumnNode:
    """One column and how it is obtained: ``kind`` is sql, strategy, ingest, mapping, landing
    (an export column), constant or absent (a field no export column gives: NULL);
    ``expression`` the SQL computing it or an explanation; ``inputs`` the columns it is
    computed from. Only ``landing`` nodes are under ``landing.<source>``: a constant or an
    expression of the mapping is under ``mapping.<source>``, an absent field under
    ``absent.<source>``."""

    table: str
    column: str
    kind: str
    expression: str
    inputs: list[ColumnNode] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.table}.{self.column}"

    def leaves(self) -> list[ColumnNode]:
        """The columns at the bottom (landing fields, constants), each once, in tree order."""
        seen: dict[str, ColumnNode] = {}
        stack = list(reversed(self.inputs))
        while stack:
            node = stack.pop()
            if not node.inputs:
                seen.setdefault(node.ref, node)
            stack.extend(reversed(node.inputs))
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "kind": self.kind,
            "expression": self.expression,
            "inputs": [i.to_dict() for i in self.inputs],
        }


@dataclass
class Lineage:
    """Lineage queries over a graph and the sources feeding its ``ingest`` tables."""

    graph: Graph
    sources: dict[str, Source]
    #: what the ingestion log says of each export (None: not known, nothing ingested read)
    exports: dict[str, Ingested] | None = None
    _columns: dict[str, list[str]] = field(default_factory=dict)
    _nodes: dict[str, dict[str, Node]] = field(default_factory=dict)
    _traced: dict[str, ColumnNode] = field(default_factory=dict)

    # -- tables ---------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        if name not in self.graph.tables:
            schema = name.split(".")[0]
            same = sorted(t for t in self.graph.tables if t.split(".")[0] == schema)
            raise TableNotFound(name, same or sorted(self.graph.tables))
        return self.graph.tables[name]

    def upstream_tree(self, name: str) -> dict[str, Any]:
        """``{table, kind, upstream: [...]}`` recursively; an ingest table names its landing files."""
        table = self.table(name)
        node: dict[str, Any] = {"table": name, "kind": table.kind.value}
        node["upstream"] = [self.upstream_tree(u) for u in sorted(self.graph.upstream[name])]
        if table.kind is Kind.INGEST and table.source in self.sources:
            src = self.sources[table.source]
            node["landing"] = f"{src.path} ({src.format})"
        return node

    def downstream_tree(self, name: str) -> dict[str, Any]:
        """``{table, kind, downstream: [...]}`` recursively: the tables reading ``name``."""
        table = self.table(name)
        children = sorted(c for c, ups in self.graph.upstream.items() if name in ups)
        return {
            "table": name,
            "kind": table.kind.value,
            "downstream": [self.downstream_tree(c) for c in children],
        }

    def tables(self, name: str) -> dict[str, Any]:
        """Table lineage: both trees and the flat sets of ancestors and dependants."""
        table = self.table(name)
        return {
            "table": name,
            "defined_by": table.defined_by,
            "description": table.description,
            "owner": table.owner,
            "column_descriptions": dict(table.column_docs),
            "upstream": sorted(self.graph.ancestors(name)),
            "downstream": sorted(self.graph.downstream(name)),
            "upstream_tree": self.upstream_tree(name),
            "downstream_tree": self.downstream_tree(name),
        }

    # -- columns --------------------------------------------------------------------------

    def columns(self, name: str) -> list[str]:
        """The columns of a table, inferred from its SQL and what its strategy adds."""
        if name in self._columns:
            return self._columns[name]
        table = self.table(name)
        if table.kind is Kind.INGEST:
            cols = [*self._source(table).fields, *INGEST_COLUMNS]
        else:
            selected = [c for c in self._selects(table) if c not in OWNED_COLUMNS]
            if table.kind is Kind.VIEW:
                cols = selected
            elif table.kind is Kind.SCD2:
                kept = [c for c in selected if not c.startswith("_") and c != table.surrogate_key]
                cols = [str(table.surrogate_key), *kept, *SCD2_COLUMNS, "_batch_id"]
            else:
                cols = [c for c in selected if not c.startswith("_raw_")]
                if table.kind in (Kind.UPSERT, Kind.APPEND):
                    cols.append("_row_hash")
                cols.append("_batch_id")
        self._columns[name] = cols
        return cols

    def column(self, table_name: str, column: str) -> ColumnNode:
        """How ``table.column`` is computed, recursively down to the landing fields."""
        key = f"{table_name}.{column}"
        if key in self._traced:
            return self._traced[key]
        table = self.table(table_name)
        columns = self.columns(table_name)
        if column not in columns:
            raise LakeshopError(
                f"table {table_name} has no column '{column}'; its columns: {', '.join(columns)}"
            )
        if table.kind is Kind.INGEST:
            node = self._bronze(table, column)
        elif column in OWNED_COLUMNS:
            how = OWNED_COLUMNS[column].format(kind=table.kind.value)
            node = ColumnNode(table_name, column, "strategy", how)
        elif table.kind is Kind.SCD2 and (column == table.surrogate_key or column in SCD2_COLUMNS):
            node = self._scd2(table, column)
        else:
            node = self._sql(table, column)
        self._traced[key] = node
        return node

    def _sql(self, table: Table, column: str) -> ColumnNode:
        root = self._lineage_nodes(table)[column]
        inputs: list[ColumnNode] = []
        seen: set[str] = set()
        for n in root.walk():
            if not isinstance(n.expression, exp.Table):
                continue
            upstream = ".".join(p for p in (n.expression.db, n.expression.name) if p)
            col = n.name.split(".")[-1]
            if upstream not in self.graph.tables or f"{upstream}.{col}" in seen:
                continue
            seen.add(f"{upstream}.{col}")
            inputs.append(self.column(upstream, col))
        inputs.sort(key=lambda i: i.ref)  # sqlglot's walk order is not stable across runs
        expression = root.expression
        if isinstance(expression, exp.Alias):
            expression = expression.this
        return ColumnNode(table.name, column, "sql", expression.sql(dialect="duckdb"), inputs)

    def _scd2(self, table: Table, column: str) -> ColumnNode:
        key, seq = table.keys[0], str(table.sequence)
        if column == table.surrogate_key:
            how = (
                f"added by the scd2 strategy: md5({key} || '|' || valid_from) of each version "
                f"(valid_from: its {seq}, 1900-01-01 for the first), unless the SQL gives the "
                "member its own (a guest)"
            )
            from_ = [key, seq]
        elif column == "valid_from":
            how = f"added by the scd2 strategy: the version's {seq} (1900-01-01 for the first)"
            from_ = [seq]
        elif column == "valid_to":
            how = f"added by the scd2 strategy: the next version's {seq} (9999-12-31 for the last)"
            from_ = [seq]
        else:
            how = "added by the scd2 strategy: TRUE for the latest version of each key"
            from_ = [seq]
        inputs = [self._sql(table, c) for c in from_]
        return ColumnNode(table.name, column, "strategy", how, inputs)

    def _bronze(self, table: Table, column: str) -> ColumnNode:
        if column in INGEST_COLUMNS:
            return ColumnNode(table.name, column, "ingest", INGEST_COLUMNS[column])
        src = self._source(table)
        landing = f"landing.{src.name}"
        where = f"{src.path} ({src.format})"
        spec = src.mapping.get(column, column)
        setting = f"sources.{src.name}.mapping.{column}"
        if isinstance(spec, Const):
            leaf = ColumnNode(
                f"mapping.{src.name}",
                column,
                "constant",
                f"constant {spec.const!r} set by {setting}, not read from the export",
            )
        elif isinstance(spec, Expr):
            refs = sqlglot.parse_one(spec.sql, read="duckdb").find_all(exp.Column, bfs=False)
            exports = [
                ColumnNode(landing, c, "landing", f"export column of {where}")
                for c in dict.fromkeys(r.name for r in refs)
            ]
            how = f"{spec.sql} ({setting})" + ("" if exports else ", reads no export column")
            leaf = ColumnNode(f"mapping.{src.name}", column, "mapping", how, exports)
        elif spec != column or column in src.required:  # a file without it is refused
            mapped = f" (mapped by {setting})" if spec != column else ""
            leaf = ColumnNode(landing, spec, "landing", f"export column of {where}{mapped}")
        else:
            leaf = self._optional(src, column, where)
        return ColumnNode(table.name, column, "ingest", "as received, as text", [leaf])

    def _optional(self, src: Source, column: str, where: str) -> ColumnNode:
        """An optional field read from the export's column of its name: NULL in the files
        that lack it, absent when every file ingested lacks it."""
        seen = self.exports.get(src.name) if self.exports is not None else None
        landing = f"landing.{src.name}"
        if seen is None or seen.files == 0:
            yet = "" if seen is None else "; no file ingested yet"
            how = f"export column of {where} when the export has it (optional: NULL otherwise{yet})"
            return ColumnNode(landing, column, "landing", how)
        lacking, n = seen.lacking.get(column, 0), seen.files
        files = f"{n} file{'s' if n != 1 else ''}"
        if lacking == n:
            how = (
                f"not in the export: none of the {files} of {where} ingested has a column "
                f"'{column}' and sources.{src.name}.mapping gives none; NULL"
            )
            return ColumnNode(f"absent.{src.name}", column, "absent", how)
        how = f"export column of {where}"
        if lacking:
            how += f"; missing from {lacking} of the {files} ingested (NULL in their rows)"
        return ColumnNode(landing, column, "landing", how)

    def _source(self, table: Table) -> Source:
        if table.source not in self.sources:
            raise LakeshopError(f"table {table.name}: no source '{table.source}' is configured")
        return self.sources[str(table.source)]

    def _schema(self, table: Table) -> MappingSchema:
        """The columns of the tables ``table`` reads (types do not matter to lineage)."""
        return MappingSchema(self._upstream_columns(table), dialect="duckdb")

    def _upstream_columns(self, table: Table) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        for up in sorted(self.graph.upstream[table.name]):
            db, name = up.split(".", 1)
            schema.setdefault(db, {})[name] = {c: "TEXT" for c in self.columns(up)}
        return schema

    def _selects(self, table: Table) -> list[str]:
        """The columns the table's SQL returns (kept in the parse cache: they depend only on
        the SQL and the columns of the tables it reads)."""
        upstream = self._upstream_columns(table)

        def resolve() -> list[str]:
            try:
                tree = qualify(
                    sqlglot.parse_one(table.sql, read="duckdb"),
                    schema=MappingSchema(upstream, dialect="duckdb"),
                    dialect="duckdb",
                )
            except sqlglot.errors.SqlglotError as exc:
                raise SqlError(table.name, f"cannot resolve its columns: {exc}") from exc
            return list(tree.named_selects) if isinstance(tree, exp.Query) else []

        key = json.dumps({"sql": table.sql, "upstream": upstream}, sort_keys=True)
        return list(cached(key, "selects", resolve))

    def _lineage_nodes(self, table: Table) -> dict[str, Node]:
        if table.name not in self._nodes:
            try:
                nodes = lineage(None, table.sql, schema=self._schema(table), dialect="duckdb")
            except sqlglot.errors.SqlglotError as exc:
                raise SqlError(table.name, f"cannot derive column lineage: {exc}") from exc
            assert isinstance(nodes, dict)
            self._nodes[table.name] = nodes
        return self._nodes[table.name]


def parse_target(text: str) -> tuple[str, str | None]:
    """``schema.table`` or ``schema.table.column``."""
    parts = text.split(".")
    if len(parts) == 2:
        return text, None
    if len(parts) == 3:
        return f"{parts[0]}.{parts[1]}", parts[2]
    raise LakeshopError(f"'{text}': expected schema.table or schema.table.column")


# -- rendering ----------------------------------------------------------------------------


def render_tables(result: dict[str, Any]) -> list[str]:
    """Indented upstream and downstream trees of a table, each subtree shown once."""
    lines = [f"{result['table']}"]
    if result.get("defined_by"):
        lines.append(f"defined by: {result['defined_by']}")
    for key in ("description", "owner"):
        if result.get(key):
            lines.append(f"{key}: {_short(result[key])}")
    lines.append("upstream:")
    seen: set[str] = set()

    def walk(node: dict[str, Any], key: str, prefix: str) -> None:
        children = node.get(key, [])
        for i, child in enumerate(children):
            last = i == len(children) - 1
            landing = f"  ← landing {child['landing']}" if child.get("landing") else ""
            again = " (see above)" if child["table"] in seen and child.get(key) else ""
            lines.append(
                f"{prefix}{'└── ' if last else '├── '}{child['table']} [{child['kind']}]"
                f"{landing}{again}"
            )
            if not again:
                seen.add(child["table"])
                walk(child, key, prefix + ("    " if last else "│   "))

    walk(result["upstream_tree"], "upstream", "  ")
    if not result["upstream"]:
        lines.append("  (none)")
    lines.append("downstream:")
    seen.clear()
    walk(result["downstream_tree"], "downstream", "  ")
    if not result["downstream"]:
        lines.append("  (none)")
    return lines


def render_column(node: ColumnNode) -> list[str]:
    """The column's derivation as a tree, then the landing fields it comes from."""
    lines = [f"{node.ref}  = {_short(node.expression)}"]
    seen: set[str] = set()

    def walk(parent: ColumnNode, prefix: str) -> None:
        for i, child in enumerate(parent.inputs):
            last = i == len(parent.inputs) - 1
            again = child.ref in seen and bool(child.inputs)
            how = "(see above)" if again else _short(child.expression)
            sign = "=" if child.kind == "sql" else "·"
            lines.append(f"{prefix}{'└── ' if last else '├── '}{child.ref}  {sign} {how}")
            if not again:
                seen.add(child.ref)
                walk(child, prefix + ("    " if last else "│   "))

    walk(node, "")
    leaves = node.leaves()
    lines.append("")
    lines.append("computed from:" if leaves else "computed from no column")
    lines.extend(f"  {leaf.ref}  ({leaf.expression})" for leaf in leaves)
    return lines


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_EXPRESSION else flat[: MAX_EXPRESSION - 1] + "…"

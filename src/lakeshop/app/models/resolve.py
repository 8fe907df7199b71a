"""Joining a project's models to the built-in tables: the tables each reads (inferred from
its SQL), cycles, the columns it names, and which definition of a table is in force.

A model that cannot run is *refused*: it stays in the graph as a table that fails with one
line naming its file and line, so that the tables reading it are skipped and every table
that does not depend on it still runs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from lakeshop.app.models.loader import Declared, model_files, read
from lakeshop.core.errors import LakeshopError, ModelError, SqlError
from lakeshop.pipeline.graph import Graph, reads, referenced_tables
from lakeshop.pipeline.lineage import Lineage
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.sources import Source
from lakeshop.retail.settings import RetailSettings


@dataclass
class Models:
    """A project's models: those read (by table name) and why each refused one was refused."""

    declared: dict[str, Declared] = field(default_factory=dict)
    refused: dict[str, ModelError] = field(default_factory=dict)
    #: table name → its model's SQL file, refused or not
    files: dict[str, str] = field(default_factory=dict)


def join(
    builtins: list[Table],
    directory: Path,
    settings: RetailSettings,
    sources: dict[str, Source],
    display: Path,
) -> tuple[Graph, Models]:
    """The graph of the built-in tables and the project's models (a model named like a
    built-in gold table replaces it), and the models with the refused ones."""
    models = Models()
    files = model_files(directory)
    if not files:  # nothing to check: lakeshop's own tables only
        return Graph.build(builtins), models
    tables = {t.name: t for t in builtins}
    for path in files:
        shown = str(display / path.relative_to(directory))
        try:
            d = read(path, settings, shown)
        except ModelError as exc:
            name = f"gold.{path.stem}"
            models.files[name] = shown
            _refuse(tables, models, name, exc, Kind.VIEW, shown)
            continue
        models.files[d.name] = shown
        models.declared[d.name] = d
        known = tables.get(d.name)
        if known is not None and (known.origin or d.spec.schema_ != "gold"):
            what = "another model" if known.origin else "a built-in table (only gold ones can be)"
            error = ModelError(d.decl_file, d.line("schema"), f"{d.name} is already {what}")
            models.refused[d.name] = error  # the table declared first stays in force
            continue
        tables[d.name] = d.table(builtin=known is not None)
    upstream = _references(tables, models)
    _cycles(tables, models, upstream)
    _columns(tables, models, upstream, sources)
    while True:
        try:
            return Graph.build(tables.values()), models
        except SqlError as exc:  # what Graph.build checks beyond the above (scope …)
            found = models.declared.get(exc.table)
            if found is None or exc.table in models.refused:
                raise
            d = found
            message = str(exc).split(": ", 1)[-1]
            error = ModelError(d.decl_file, d.line("kind"), message)
            _refuse(tables, models, d.name, error, d.spec.table_kind, d.file)


def _refuse(
    tables: dict[str, Table],
    models: Models,
    name: str,
    error: ModelError,
    kind: Kind,
    file: str,
) -> None:
    known = tables.get(name)
    builtin = known is not None and (not known.origin or known.replaces_builtin)
    models.refused[name] = error
    tables[name] = Table(name, kind, origin=file, replaces_builtin=builtin, refused=str(error))


def _references(tables: dict[str, Table], models: Models) -> dict[str, set[str]]:
    """What every table reads; a model reading an unknown table is refused."""
    upstream: dict[str, set[str]] = {}
    for name, t in tables.items():
        d = models.declared.get(name)
        if d is None or name in models.refused:
            upstream[name] = reads(t)
            continue
        try:
            found = reads(t)
        except SqlError:
            error = _unparsable(d)
            _refuse(tables, models, name, error, t.kind, d.file)
            upstream[name] = set()
            continue
        unknown = sorted(r for r in found if r not in tables)
        if unknown:
            file, line, col = _where_read(d, unknown[0])
            near = difflib.get_close_matches(unknown[0], list(tables), n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            error = ModelError(file, line, f"unknown table {unknown[0]}{hint}", col)
            _refuse(tables, models, name, error, t.kind, d.file)
            upstream[name] = set()
            continue
        upstream[name] = found
    return upstream


def _unparsable(d: Declared) -> ModelError:
    """The expectation or touched query of ``d`` that does not parse."""
    for i, e in enumerate(d.spec.expectations):
        try:
            referenced_tables(f"SELECT * FROM _x WHERE {e.check}")
        except SqlError as exc:
            return ModelError(d.decl_file, d.line("expectations", i), f"check of '{e.name}': {exc}")
    for up, sql in d.spec.touched.items():
        try:
            referenced_tables(sql)
        except SqlError as exc:
            return ModelError(d.decl_file, d.line("touched", up), f"touched query of {up}: {exc}")
    return ModelError(d.file, None, "SQL does not parse")


def _where_read(d: Declared, table: str) -> tuple[str, int | None, int | None]:
    """Where the model's files name ``table``: its SQL, else a touched query or a check."""
    for ref in d.tree.find_all(exp.Table):
        if f"{ref.db}.{ref.name}" == table:
            line, col = position(ref.args.get("db") or ref.this)
            return d.file, line, col
    for up, sql in d.spec.touched.items():
        if table in referenced_tables(sql) or up == table:
            return d.decl_file, d.line("touched", up), None
    return d.decl_file, d.line("expectations"), None


def _cycles(tables: dict[str, Table], models: Models, upstream: dict[str, set[str]]) -> None:
    """Refuse the models of each dependency cycle (the built-in tables have none)."""
    while True:
        try:
            TopologicalSorter({n: sorted(u) for n, u in upstream.items()}).prepare()
            return
        except CycleError as exc:
            cycle: list[str] = list(exc.args[1])
            path = " -> ".join(cycle)
            mine = [n for n in cycle[:-1] if n in models.declared]
            if not mine:
                raise LakeshopError(f"dependency cycle between tables: {path}") from exc
            for i, name in enumerate(cycle[:-1]):
                if name not in mine:
                    continue
                d = models.declared[name]
                # graphlib lists a cycle from a table to the one it *feeds*: find what it reads
                read_one = next((c for c in cycle if c in upstream[name]), cycle[i + 1])
                file, line, col = _where_read(d, read_one)
                error = ModelError(file, line, f"dependency cycle: {path}", col)
                _refuse(tables, models, name, error, d.spec.table_kind, d.file)
                upstream[name] = set()


def _columns(
    tables: dict[str, Table],
    models: Models,
    upstream: dict[str, set[str]],
    sources: dict[str, Source],
) -> None:
    """Refuse a model naming a column that the tables it reads do not have (or a key, a
    sequence, a documented column its SQL does not return), in dependency order."""
    sorter = TopologicalSorter({n: sorted(u) for n, u in upstream.items()})
    for name in sorter.static_order():
        d = models.declared.get(name)
        if d is None or name in models.refused:
            continue
        if any(tables[u].refused for u in upstream[name]):
            continue  # skipped at run time after the refused one; nothing to check against
        lineage = Lineage(Graph(tables, upstream), sources)
        try:
            error = _check_columns(d, lineage, upstream[name])
        except LakeshopError as exc:  # an upstream whose columns cannot be resolved
            error = ModelError(d.file, None, str(exc))
        if error is not None:
            _refuse(tables, models, name, error, d.spec.table_kind, d.file)


def _check_columns(d: Declared, lineage: Lineage, reads_: set[str]) -> ModelError | None:
    schema: dict[str, Any] = {}
    for up in sorted(reads_):
        db, short = up.split(".", 1)
        schema.setdefault(db, {})[short] = {c: "TEXT" for c in lineage.columns(up)}
    try:
        tree = qualify(
            d.tree.copy(),
            schema=MappingSchema(schema, dialect="duckdb"),
            dialect="duckdb",
            validate_qualify_columns=True,
        )
    except sqlglot.errors.SqlglotError as exc:
        return _unknown_column(d, exc)
    out = [c for c in tree.named_selects] if isinstance(tree, exp.Query) else []
    s = d.spec
    named: list[tuple[str | tuple[str, str], str]] = [("keys", k) for k in s.keys]
    named += [
        (key, value)
        for key, value in (("sequence", s.sequence), ("incremental_by", s.incremental_by))
        if value
    ]
    named += [(("columns", c), c) for c in s.columns]
    for key, column in named:
        if column not in out:
            path = key if isinstance(key, tuple) else (key,)
            return ModelError(
                d.decl_file,
                d.line(*path),
                f"column '{column}' is not one its SQL returns ({', '.join(out)})",
            )
    own: dict[str, Any] = {d.spec.schema_: {d.name.split(".")[1]: {c: "TEXT" for c in out}}}
    for i, e in enumerate(s.expectations):
        check = sqlglot.parse_one(f"SELECT * FROM {d.name} WHERE {e.check}", read="duckdb")
        try:
            qualify(
                check,
                schema=MappingSchema({**schema, **own}, dialect="duckdb"),
                dialect="duckdb",
                validate_qualify_columns=True,
            )
        except sqlglot.errors.SqlglotError as exc:
            return ModelError(
                d.decl_file,
                d.line("expectations", i),
                f"check of '{e.name}': {_first(exc)} (its columns: {', '.join(out)})",
            )
    return None


def _unknown_column(d: Declared, exc: Exception) -> ModelError:
    """The error at the column's place in the SQL when the message names one."""
    message = _first(exc)
    for col in d.tree.find_all(exp.Column):
        if re.search(rf"\b{re.escape(col.name)}\b", message):
            line, at = position(col.args.get("table") or col.this)
            where = f" of {col.table}" if col.table else ""
            return ModelError(d.file, line, f"unknown column '{col.name}'{where}", at)
    return ModelError(d.file, None, message)


def position(node: exp.Expr) -> tuple[int | None, int | None]:
    """The line and first column of a parsed identifier (sqlglot keeps its last column)."""
    meta = node.meta
    line, col = meta.get("line"), meta.get("col")
    if col is not None and "start" in meta and "end" in meta:
        col = col - (meta["end"] - meta["start"])
    return line, col


def _first(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def declared_tables(models: Models) -> list[str]:
    """The models' table names, refused ones included, by name."""
    return sorted(models.files)

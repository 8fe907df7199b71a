"""The dependency graph, inferred from each table's SQL with SQLGlot."""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lakeshop.core.errors import LakeshopError, SqlError
from lakeshop.pipeline.model import Action, Kind, Table


def referenced_tables(sql: str, table: str = "<query>") -> set[str]:
    """Every ``schema.table`` that ``sql`` reads (CTE names excluded)."""
    found = _cache.get(sql, "refs")
    if found is None:
        found = sorted(_references(sql, table))
        _cache.put(sql, "refs", found)
    return set(found)


def unqualified_tables(sql: str) -> list[str]:
    """Plain table names without a schema (not CTEs): lakehouse tables are ``schema.table``."""
    found = _cache.get(sql, "unqualified")
    if found is None:
        found = _unqualified(sql)
        _cache.put(sql, "unqualified", found)
    return list(found)


def _unqualified(sql: str) -> list[str]:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return sorted(
        {
            t.name
            for t in tree.find_all(exp.Table)
            if not t.db
            and isinstance(t.this, exp.Identifier)
            and not t.this.quoted
            and t.name not in ctes
        }
    )


def _references(sql: str, table: str) -> set[str]:
    import sqlglot  # imported on a cache miss only: a run with nothing to do needs none
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise SqlError(table, f"SQL does not parse: {exc}") from exc
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = set()
    for ref in tree.find_all(exp.Table):
        if ref.db and ref.name and ref.name not in ctes:
            names.add(f"{ref.db}.{ref.name}")
    return names


def driving_table(sql: str) -> str | None:
    """The first table of the outermost FROM: the one whose new rows drive an increment."""
    found = _cache.get(sql, "driving")
    if found is None:
        found = [_driving(sql)]
        _cache.put(sql, "driving", found)
    driving: str | None = found[0]
    return driving


def _driving(sql: str) -> str | None:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    from_ = select.args.get("from_") or select.args.get("from") if select else None
    ref = from_.find(exp.Table) if from_ else None
    return f"{ref.db}.{ref.name}" if ref is not None and ref.db else None


class _ParseCache:
    """What the SQL texts of a pipeline read, kept between runs.

    Parsing every table's SQL is most of what a run with nothing to do costs; the answers
    depend only on the text and the SQLGlot version, so they are kept in one JSON file under
    the user's cache folder (``$XDG_CACHE_HOME/lakeshop``), written when the process ends.
    A missing or unreadable file only means parsing again.
    """

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] | None = None
        self.dirty = False

    @functools.cached_property
    def path(self) -> Path:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "lakeshop" / f"sql-{version('sqlglot')}.json"

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.entries is None:
            try:
                self.entries = dict(json.loads(self.path.read_text()))
            except (OSError, ValueError):
                self.entries = {}
        return self.entries

    def get(self, sql: str, what: str) -> Any:
        return self._load().get(_digest(sql), {}).get(what)

    def put(self, sql: str, what: str, value: Any) -> None:
        self._load().setdefault(_digest(sql), {})[what] = value
        if not self.dirty:
            self.dirty = True
            atexit.register(self.save)

    def save(self) -> None:
        """Write the file atomically (runs in parallel may each write it: last one wins)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.entries))
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written is only slower


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


_cache = _ParseCache()


@dataclass
class Graph:
    """Tables and their upstream dependencies, in an order that runs parents first."""

    tables: dict[str, Table]
    upstream: dict[str, set[str]]

    @classmethod
    def build(cls, tables: Iterable[Table]) -> Graph:
        """Infer each table's dependencies from its SQL and its expectations' SQL."""
        by_name = {t.name: t for t in tables}
        upstream: dict[str, set[str]] = {}
        for t in by_name.values():
            refs = reads(t)
            if t.incremental_by and any(e.action is Action.DROP for e in t.expectations):
                raise SqlError(
                    t.name,
                    "a table recomputed in part (incremental_by) cannot have drop expectations",
                    _file(t),
                )
            for up, sql in t.touched.items():
                if up not in referenced_tables(sql, t.name):
                    raise SqlError(t.name, f"touched query for {up} does not read {up}", _file(t))
            if t.scope and not (t.incremental_by or t.kind is Kind.SCD2):  # scd2: by its key
                raise SqlError(t.name, "scope needs incremental_by", _file(t))
            unread = sorted(set(t.scope) - refs)
            if unread:
                listed = ", ".join(unread)
                raise SqlError(t.name, f"scope names table(s) it does not read: {listed}", _file(t))
            unknown = sorted(r for r in refs if r not in by_name)
            if unknown:
                raise SqlError(t.name, f"reads undeclared table(s) {', '.join(unknown)}", _file(t))
            upstream[t.name] = refs
        graph = cls(by_name, upstream)
        graph.order()
        return graph

    def order(self) -> list[str]:
        """Topological order, ties broken by name so runs are reproducible."""
        sorter = TopologicalSorter({n: sorted(u) for n, u in sorted(self.upstream.items())})
        try:
            sorter.prepare()
        except CycleError as exc:
            raise LakeshopError(
                f"dependency cycle between tables: {' -> '.join(exc.args[1])}"
            ) from exc
        out: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            out.extend(ready)
            sorter.done(*ready)
        return out

    def downstream(self, name: str) -> set[str]:
        """Every table that reads ``name``, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            cur = frontier.pop()
            for child, parents in self.upstream.items():
                if cur in parents and child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    def stored_inputs(self, name: str) -> set[str]:
        """The stored tables ``name`` reads, looking through views."""
        found: set[str] = set()
        for up in self.upstream.get(name, set()):
            if self.tables[up].stored:
                found.add(up)
            else:
                found |= self.stored_inputs(up)
        return found

    def ancestors(self, name: str) -> set[str]:
        """Every table that ``name`` reads, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            for parent in self.upstream.get(frontier.pop(), set()):
                if parent not in found:
                    found.add(parent)
                    frontier.append(parent)
        return found


def reads(t: Table) -> set[str]:
    """The tables ``t`` reads: in its SQL, its expectations and its ``touched`` queries."""
    refs: set[str] = set()
    if t.sql:
        refs |= referenced_tables(t.sql, t.name)
    for e in t.expectations:
        refs |= referenced_tables(f"SELECT * FROM _x WHERE {e.predicate}", t.name)
    for sql in t.touched.values():
        refs |= referenced_tables(sql, t.name)
    refs.discard(t.name)
    return refs


def cached(sql: str, what: str, compute: Callable[[], Any]) -> Any:
    """``compute()``'s answer about ``sql`` (JSON-able), kept in the parse cache between runs:
    for answers that depend on the text (and the SQLGlot version) only."""
    found = _cache.get(sql, what)
    if found is None:
        found = compute()
        _cache.put(sql, what, found)
    return found


def _file(t: Table) -> str | None:
    return str(t.sql_file) if t.sql_file else None

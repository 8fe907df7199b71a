"""Run SQL as a principal: granted tables only, each seen through its masks and row filters.

:class:`GovernedSession` is the one way the server (and ``lakeshop access check``) reads for
someone. A query is checked by the sandbox (:func:`lakeshop.app.sandbox.check_query`: one
SELECT over lakehouse tables, nothing reaching files, settings or the environment), then every
table it reads, found by sqlglot in the parsed statement (CTEs, subqueries, joins, set
operations and declared views included), must be granted to the role.

The rows are governed structurally, before the query sees them: on the reader's DuckDB
connection each table's snapshot is bound under a hidden, random name, and the table's own
name becomes a view selecting the masked expressions of its columns and only the rows its
row filters keep. The user's SQL runs unchanged over those names, so ``SELECT *``, joins,
CTEs and subqueries can only ever read masked, filtered rows; the hidden names are refused by
the sandbox (not lakehouse tables) and cannot be guessed. A declared view is bound over the
governed tables under it, then governed itself.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from lakeshop.app.access.load import load_policy
from lakeshop.app.access.masks import filter_expression, mask_expression
from lakeshop.app.access.policy import Mask, Policy, Principal
from lakeshop.app.reader import open_reader
from lakeshop.app.sandbox import check_query
from lakeshop.core import sqltext
from lakeshop.core.errors import ConfigError, LakeshopError, TableNotFound
from lakeshop.pipeline.model import Kind

if TYPE_CHECKING:
    from lakeshop.app.access.readers import Readers
    from lakeshop.app.project import Project
    from lakeshop.engines.base import Engine

#: schema metadata key of a result cut at the role's row cap
TRUNCATED = b"lakeshop.truncated"


class AccessDenied(LakeshopError):
    """The principal may not read what the query reads (HTTP 403)."""

    exit_code = 3


class QueryTimeout(LakeshopError):
    """The query ran longer than the role's timeout and was stopped."""

    exit_code = 3


@dataclass(frozen=True)
class Governed:
    """One table as a principal sees it, and why."""

    table: str
    #: the grant letting the role read it (None: read only through a granted view)
    grant: str | None
    #: column -> mask name and kind, for the masked columns
    masks: dict[str, str]
    #: the row filters, with the user's attributes in
    filters: list[str]
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """A checked query: what it reads and how each table is governed."""

    principal: Principal
    sql: str
    tables: list[Governed]
    max_rows: int
    timeout_seconds: float

    def explain(self) -> list[str]:
        """What the principal sees and why, one line per fact."""
        p = self.principal
        lines = [
            f"user {p.user}, role {p.role}: at most {self.max_rows:,} rows, "
            f"{self.timeout_seconds:g} s"
        ]
        for g in self.tables:
            why = f"granted by '{g.grant}'" if g.grant else "read through a granted view"
            lines.append(f"{g.table}: {why}")
            for column, mask in g.masks.items():
                lines.append(f"  column {column}: masked ({mask})")
            for predicate in g.filters:
                lines.append(f"  rows: only where {predicate}")
            if not g.masks and not g.filters:
                lines.append("  every column and row as stored")
        return lines


class GovernedSession:
    """Queries of one principal over a project's target, governed by its ``access.yml``.

    ``GovernedSession(project, principal).query(sql, params)`` is the function the server's
    routes (and dashboards' tiles) call; ``$name`` parameters of ``sql`` are replaced by
    literals of ``params`` (:class:`lakeshop.core.sqltext.Template`).

    Alone, a session opens a DuckDB reader per query and binds what the query reads; given
    ``readers`` (a server's :class:`~lakeshop.app.access.readers.Readers`), its queries run on
    the principal's governed database kept there, binding only the tables committed to since.
    """

    def __init__(
        self,
        project: Project,
        principal: Principal,
        policy: Policy | None = None,
        target: str | None = None,
        readers: Readers | None = None,
    ) -> None:
        self.project = project
        self.principal = principal
        self.policy = policy or load_policy(project.directory)
        self.target = target
        self.readers = readers
        if principal.role not in self.policy.config.roles:
            raise AccessDenied(f"user {principal.user}: role '{principal.role}' is not declared")
        self.role = self.policy.role(principal.role)
        self._tables: set[str] | None = None

    # -- what may be read ---------------------------------------------------------------------

    def visible_tables(self) -> list[str]:
        """Every lakehouse table and declared view the role is granted."""
        return sorted(t for t in self._known() if self.role.grant_for(t) is not None)

    def plan(self, sql: str, params: Mapping[str, sqltext.Value] | None = None) -> Plan:
        """Check ``sql`` for the principal (refused: :class:`QueryRefused`,
        :class:`AccessDenied`, :class:`TableNotFound`) and say how each table is governed."""
        text = render_params(sql, params)
        try:
            try:
                reads = check_query(text, self._known())
            except TableNotFound:
                if self.readers is None:
                    raise
                # the readers' list may predate the table: list the lakehouse again
                self._tables = set(self.readers.tables(fresh=True))
                reads = check_query(text, self._tables)
        except TableNotFound as exc:  # name only what the role may see
            raise TableNotFound(exc.name, self.visible_tables()) from None
        denied = sorted(t for t in reads if self.role.grant_for(t) is None)
        if denied:
            raise AccessDenied(
                f"role {self.principal.role} (user {self.principal.user}) may not read "
                f"{', '.join(denied)}"
            )
        closure = self._closure(reads)
        tables = [self._governed(t, t in reads) for t in closure]
        return Plan(self.principal, text, tables, self.role.max_rows, self.role.timeout_seconds)

    def overview(self) -> Plan:
        """Every table the principal may read, each with its masks and row filters."""
        tables = [self._governed(t, True) for t in self.visible_tables()]
        return Plan(self.principal, "", tables, self.role.max_rows, self.role.timeout_seconds)

    # -- running -----------------------------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, sqltext.Value] | None = None) -> pa.Table:
        """Run ``sql`` as the principal: at most the role's ``max_rows`` rows (the schema's
        metadata says ``lakeshop.truncated`` when more were there), stopped after its timeout."""
        plan = self.plan(sql, params)
        if self.readers is not None:
            governed = {g.table: g for g in plan.tables}
            return self.readers.fetch(
                self.principal,
                [g.table for g in plan.tables],
                lambda engine, name, hidden: self._bind(engine, governed[name], hidden),
                lambda cursor: _fetch_capped(cursor, plan),
            )
        with open_reader(self.project, self.target, "duckdb") as engine:
            hidden = "raw_" + secrets.token_hex(8)
            for g in plan.tables:
                self._bind(engine, g, hidden)
            return _fetch_capped(engine, plan)

    def _bind(self, engine: Engine, g: Governed, hidden: str) -> None:
        """Bind ``g``'s data under a hidden name, and its governed view under its own."""
        schema, name = g.table.split(".", 1)
        raw = f"{hidden}.{schema}__{name}"
        declared = self.project.graph.tables.get(g.table)
        if declared is not None and declared.kind is Kind.VIEW:
            engine.bind_view(raw, declared.sql)  # over the governed tables, bound before it
            columns = engine.fetch(sqltext.render(_select_all(raw).limit(0))).column_names
        else:
            engine.bind_table(g.table, as_name=raw)
            columns = self.project.lakehouse(self.target).schema(g.table).names
        query = self.governed_select(g.table, columns, sqltext.to_table(*raw.split(".")))
        engine.bind_view(g.table, sqltext.render(query))

    def governed_select(self, table: str, columns: list[str], source: exp.Table) -> exp.Select:
        """``table``'s rows as the principal sees them, read from ``source`` (its ``columns``,
        stored): each column through its mask under its own name, only the rows the role's
        row filters keep. The server's views and the PostgreSQL sync run this same SELECT."""
        selected: list[exp.Expr] = []
        for column, mask in self._masks(table, columns).items():
            if mask is None:
                selected.append(sqltext.to_column(column))
            else:
                expression = mask_expression(mask[1], column)
                selected.append(exp.alias_(expression, sqltext.to_identifier(column)))
        query = exp.select(*selected).from_(source)
        for predicate in self._filters(table, columns):
            query = query.where(predicate)
        return query

    # -- helpers -----------------------------------------------------------------------------

    def _known(self) -> set[str]:
        """The lakehouse's tables and the declared views, listed once per session (a
        session serves one request; the readers' list, when given, is kept between them)."""
        if self._tables is None and self.readers is not None:
            self._tables = set(self.readers.tables())
        if self._tables is None:
            views = {n for n, t in self.project.graph.tables.items() if t.kind is Kind.VIEW}
            self._tables = set(self.project.lakehouse(self.target).tables()) | views
        return self._tables

    def _closure(self, reads: set[str]) -> list[str]:
        """The tables read, with those under declared views, upstream first."""
        graph = self.project.graph
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            declared = graph.tables.get(name)
            if declared is not None and declared.kind is Kind.VIEW:
                for upstream in sorted(graph.upstream[name]):
                    visit(upstream)
            order.append(name)

        for name in sorted(reads):
            visit(name)
        return order

    def _masks(self, table: str, columns: list[str]) -> dict[str, tuple[str, Mask] | None]:
        """Each column of ``table``, with the mask (name, mask) the role sees it through."""
        return {c: self.policy.masks_for(self.principal.role, table, c) for c in columns}

    def _filters(self, table: str, columns: list[str] | None = None) -> list[exp.Expr]:
        """The role's row filters of ``table``, with the user's attributes in; each must read
        only ``columns`` of the table when given (else the setting is named)."""
        found = []
        for pattern, predicate in self.role.filters_for(table):
            try:
                expression = filter_expression(predicate, self.principal.attributes)
            except LakeshopError as exc:
                raise AccessDenied(f"user {self.principal.user}, {table}: {exc}") from None
            missing = sorted({c.name for c in expression.find_all(exp.Column)} - set(columns or []))
            if columns is not None and missing:
                raise ConfigError(
                    f"roles.{self.principal.role}.row_filters.{pattern}",
                    f"a predicate over columns of {table}, which has no {', '.join(missing)}",
                    predicate,
                    self.policy.file,
                )
            found.append(expression)
        return found

    def _governed(self, table: str, direct: bool) -> Governed:
        lakehouse = self.project.lakehouse(self.target)
        columns = lakehouse.schema(table).names if lakehouse.exists(table) else []
        masks = {c: f"{m[0]}: {m[1].kind}" for c, m in self._masks(table, columns).items() if m}
        known = columns if lakehouse.exists(table) else None  # a view's: checked when bound
        filters = [f.sql(dialect=sqltext.DUCKDB) for f in self._filters(table, known)]
        grant = self.role.grant_for(table) if direct else None
        return Governed(table, grant, masks, filters, columns)


def render_params(sql: str, params: Mapping[str, sqltext.Value] | None) -> str:
    """``sql`` with its ``$name`` parameters replaced by literals of ``params``."""
    template = sqltext.Template(sql, "query")
    if not template.parameters and not params:
        return sql
    return template.render(dict(params or {}))


def _select_all(name: str) -> exp.Select:
    return exp.select("*").from_(sqltext.to_table(*name.split(".")))


def _fetch_capped(engine: Engine, plan: Plan) -> pa.Table:
    """Run the plan's SQL with one row more than the cap (to know whether it was cut), and
    interrupt it when the role's timeout passes."""
    import sqlglot

    root = sqlglot.parse_one(plan.sql, read="duckdb")
    assert isinstance(root, exp.Query)  # the sandbox let only a query through
    # built without copies of the parsed tree (a large statement costs its copy each time)
    capped = exp.select("*").from_(root.subquery("q", copy=False), copy=False)
    capped = capped.limit(plan.max_rows + 1, copy=False)
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        engine.interrupt()

    timer = threading.Timer(plan.timeout_seconds, stop)
    timer.start()
    try:
        table = engine.fetch(sqltext.render(capped))
    except LakeshopError:
        if fired.is_set():
            raise QueryTimeout(
                f"the query ran longer than role {plan.principal.role}'s "
                f"{plan.timeout_seconds:g} s and was stopped"
            ) from None
        raise
    finally:
        timer.cancel()
    if table.num_rows > plan.max_rows:
        table = table.slice(0, plan.max_rows)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), TRUNCATED: b"true"})
    return table

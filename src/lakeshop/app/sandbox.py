"""The read-only query check: one SELECT over lakehouse tables, and nothing else.

Every query of :func:`lakeshop.app.api.query` (``lakeshop sql``, the saved queries, the
report, the alert rules) passes here before an engine opens. The SQL is parsed with sqlglot
(DuckDB dialect) and refused, with one line saying what and why, unless it is exactly one
SELECT (set operations, VALUES and subqueries included) that reads ``schema.table`` names the
lakehouse holds and calls no function reaching files, settings, the environment or other SQL.
The check is the same whatever the engine; the DuckDB engine adds its own guards (see
:meth:`lakeshop.engines.duckdb.engine.DuckDBEngine.restrict_to_reading`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakeshop.core.errors import QueryRefused, TableNotFound, first_line

if TYPE_CHECKING:
    from sqlglot import exp

#: the table functions a query may read from: they compute rows and read nothing
TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series"})

#: what the statements that are not a SELECT would do, by their first keyword
STATEMENTS = {
    "COPY": "COPY reads and writes files",
    "EXPORT": "EXPORT DATABASE writes files",
    "IMPORT": "IMPORT DATABASE reads files into new tables",
    "ATTACH": "ATTACH opens another database",
    "DETACH": "DETACH closes a database",
    "INSTALL": "INSTALL downloads an extension",
    "FORCE": "FORCE INSTALL downloads an extension",
    "LOAD": "LOAD loads an extension",
    "SET": "SET changes a setting",
    "RESET": "RESET changes a setting",
    "PRAGMA": "PRAGMA reads or changes settings",
    "CALL": "CALL runs a procedure",
    "CREATE": "CREATE changes the catalog",
    "DROP": "DROP changes the catalog",
    "ALTER": "ALTER changes the catalog",
    "COMMENT": "COMMENT changes the catalog",
    "INSERT": "INSERT writes rows",
    "UPDATE": "UPDATE writes rows",
    "DELETE": "DELETE deletes rows",
    "MERGE": "MERGE writes rows",
    "TRUNCATE": "TRUNCATE deletes rows",
    "TRUNCATETABLE": "TRUNCATE deletes rows",
    "INTO": "SELECT INTO creates a table",
    "USE": "USE changes the default schema",
    "CHECKPOINT": "CHECKPOINT writes the database",
    "VACUUM": "VACUUM writes the database",
}

#: functions refused wherever they are called, and why
FUNCTIONS = {
    "getenv": "reads the environment",
    "current_setting": "reveals the engine's settings",
    "which_secret": "reveals the engine's secrets",
    "pg_get_viewdef": "reveals the views' definitions (and the files they read)",
    "glob": "lists files",
    "sniff_csv": "reads files",
    "query": "runs SQL given as text",
    "query_table": "reads tables named as text",
    "json_execute_serialized_sql": "runs SQL given as text",
    "setseed": "changes the session's state",
    "nextval": "changes the session's state",
    "setval": "changes the session's state",
    "write_log": "writes to the engine's log",
    "enable_logging": "changes the engine's logging",
    "disable_logging": "changes the engine's logging",
    "truncate_duckdb_logs": "changes the engine's logging",
    "checkpoint": "writes the database",
    "force_checkpoint": "writes the database",
    "pg_sleep": "holds the engine",
}

#: name prefixes of functions that read files (read_csv, parquet_metadata, ...) and of those
#: that reveal the engine's state, its files and settings (duckdb_settings, pragma_version)
FILE_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_")
ENGINE_PREFIXES = ("duckdb_", "pragma_")

#: sqlglot's names of the statements a query may not hold, even nested
_STATEMENT_NODES = [
    *("Insert", "Create", "Update", "Delete", "Merge", "Copy", "Drop", "Alter", "Command"),
    *("Set", "Pragma", "Use", "Attach", "Detach", "Install", "Transaction", "Commit"),
    *("Rollback", "Describe", "Show", "Summarize", "TruncateTable", "Analyze", "Kill"),
    *("Refresh", "Cache", "Uncache", "LoadData", "Export", "Grant", "Revoke", "Comment", "Into"),
]


@dataclass(frozen=True)
class _Reads:
    """What one checked SELECT reads: ``schema.table`` names, and plain names that are no CTE."""

    tables: frozenset[str]
    plain: tuple[str, ...]


def check_query(sql: str, known: Collection[str]) -> set[str]:
    """The lakehouse tables ``sql`` reads, when it is one read-only SELECT over ``known``
    tables; raises :class:`QueryRefused` (what and why) or :class:`TableNotFound` otherwise."""
    reads = _analyse(sql)
    unknown = [*reads.plain, *sorted(reads.tables - set(known))]
    if unknown:
        raise TableNotFound(unknown[0], nearby_tables(unknown[0], known))
    return set(reads.tables)


def check_expression(node: exp.Expr, what: str) -> None:
    """Refuse an expression of configuration (a column mask, a row filter) that reads a
    table, holds a query or a statement, or calls a function this module refuses."""
    from sqlglot import exp

    statements = _statement_types()
    for sub in node.walk():
        if isinstance(sub, statements):
            raise QueryRefused(f"{what}: {_statement_reason(sub.key.upper())}")
        if isinstance(sub, exp.Table | exp.Select | exp.SetOperation | exp.Subquery):
            raise QueryRefused(
                f"{what}: reads a table or holds a query; only the row's own columns may be used"
            )
        if isinstance(sub, exp.Func):
            reason = _function_reason(_function_name(sub), False)
            if reason is not None:
                raise QueryRefused(f"{what}: {reason}")


def nearby_tables(name: str, tables: Collection[str]) -> list[str]:
    """The tables worth naming when ``name`` is not found: those of its schema, else the main ones."""
    schema = name.split(".")[0] if "." in name else None
    same = sorted(t for t in tables if t.split(".")[0] == schema)
    return same or sorted(t for t in tables if not t.endswith(("__rejects", "__quarantine")))


@functools.lru_cache(maxsize=512)
def _analyse(sql: str) -> _Reads:
    """Parse and check ``sql`` (the same text is checked once per process)."""
    from sqlglot import exp

    root = _one_query(sql)
    statements = _statement_types()
    tables: set[str] = set()
    plain: list[str] = []
    for node in root.walk():
        if isinstance(node, statements):
            raise QueryRefused(_statement_reason(node.key.upper()) + ", inside the query")
        if isinstance(node, exp.Table):
            name = _table_name(node)
            if name is None:
                continue
            if "." in name:
                tables.add(name)
            elif name not in plain:
                plain.append(name)
        elif isinstance(node, exp.Func):
            from_item = exp.Table | exp.Lateral | exp.From | exp.Join
            in_from = node.arg_key == "this" and isinstance(node.parent, from_item)
            reason = _function_reason(_function_name(node), in_from)
            if reason is not None:
                raise QueryRefused(reason)
    return _Reads(frozenset(tables), tuple(plain))


def _one_query(sql: str) -> exp.Expression:
    """The one statement of ``sql``, a query; refused otherwise."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        with _quiet():
            parsed = sqlglot.parse(sql, read="duckdb")
    except SqlglotError as exc:
        raise QueryRefused(_unparsed(sql, exc)) from exc
    except RecursionError as exc:
        raise QueryRefused("the SQL is nested too deeply to be checked") from exc
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    if not statements:
        raise QueryRefused("no statement to run")
    if len(statements) > 1:
        words = "; ".join(_first_words(sql))
        raise QueryRefused(f"{len(statements)} statements ({words}): only one may run")
    root = statements[0]
    if not isinstance(root, exp.Select | exp.SetOperation | exp.Subquery | exp.Values):
        raise QueryRefused(_statement_reason(next(iter(_first_words(sql)), root.key.upper())))
    return root


def _table_name(node: exp.Table) -> str | None:
    """``schema.table``, a plain name, or None for a CTE or a table function; refused when the
    reference can reach something else than a lakehouse table."""
    from sqlglot import exp

    if isinstance(node.this, exp.Func):
        return None  # checked as a function
    if not isinstance(node.this, exp.Identifier):
        raise QueryRefused(f"FROM {node.this.sql('duckdb')} is not a table name")
    if node.catalog:
        raise QueryRefused(f"{node.catalog}.{node.db}.{node.name} names another database (catalog)")
    if node.db:
        return f"{node.db}.{node.name}"
    if node.name.lower() in _visible_ctes(node):
        return None
    if node.this.quoted:
        raise QueryRefused(
            f"FROM '{node.name}' is a quoted name without a schema, which DuckDB reads as a file"
        )
    return node.name


def _visible_ctes(node: exp.Expression) -> set[str]:
    """The CTE names in scope where ``node`` is: those of every enclosing WITH."""
    from sqlglot import exp

    names: set[str] = set()
    parent = node.parent
    while parent is not None:
        with_ = parent.args.get("with_") or parent.args.get("with")
        if isinstance(with_, exp.With):
            names.update(cte.alias_or_name.lower() for cte in with_.expressions)
        parent = parent.parent
    return names


def _function_name(node: exp.Func) -> str:
    from sqlglot import exp

    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _function_reason(name: str, in_from: bool) -> str | None:
    """Why calling ``name`` (as a table function when ``in_from``) is refused, if it is."""
    if name in FUNCTIONS:
        return f"{name}() {FUNCTIONS[name]}"
    if name.startswith(FILE_PREFIXES) or name.endswith("_scan"):
        return f"{name}() reads files"
    if name.startswith(ENGINE_PREFIXES):
        return f"{name}() reveals the engine's state (its files and settings)"
    if in_from and name not in TABLE_FUNCTIONS:
        return f"{name}() is a table function, not a lakehouse table"
    return None


def _statement_reason(word: str) -> str:
    return STATEMENTS.get(word, f"{word} is not a SELECT")


def _first_words(sql: str) -> list[str]:
    """The first keyword of each statement of ``sql`` (none when it does not tokenize)."""
    from sqlglot import Dialect, TokenType
    from sqlglot.errors import TokenError

    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    except TokenError:
        return []
    words: list[str] = []
    starts = True
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            starts = True
        elif starts:
            words.append(token.text.upper())
            starts = False
    return words


def _unparsed(sql: str, exc: Exception) -> str:
    """Why SQL that does not parse is refused: the statement it starts with, or holds, when
    that is one a query may not be; else the parser's message."""
    from sqlglot import Dialect
    from sqlglot.errors import TokenError

    first = next(iter(_first_words(sql)), "")
    if first in STATEMENTS:
        return STATEMENTS[first]
    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    except TokenError:
        tokens = []
    for token in tokens:  # a keyword, not a name or a string: COPY in `WITH x AS (...) COPY`
        word = token.text.upper()
        if word in STATEMENTS and token.token_type.name == word:
            return STATEMENTS[word]
    return f"the SQL does not parse ({first_line(exc)})"


@functools.cache
def _statement_types() -> tuple[type, ...]:
    """The statement classes of the installed sqlglot (older versions lack some)."""
    from sqlglot import exp

    found = (getattr(exp, name, None) for name in _STATEMENT_NODES)
    return tuple(t for t in found if isinstance(t, type))


@contextmanager
def _quiet() -> Iterator[None]:
    """sqlglot logs a warning for each statement it keeps as a raw command: refused here."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)

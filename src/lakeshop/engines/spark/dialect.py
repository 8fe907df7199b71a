"""SQL in DuckDB's dialect in, Spark's out: the dialect rules SQLGlot does not apply itself."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from lakeshop.engines import registry


@functools.lru_cache(maxsize=4096)
def to_spark(sql: str) -> str:
    """Transpile one DuckDB-dialect statement to Spark SQL (cached per text).

    The dialect rules SQLGlot does not apply itself live here, and only here:
    ``schema.table`` names become the views the engine binds (``schema__table``), and
    ``ISODOW`` becomes ``WEEKDAY + 1`` (SQLGlot's ``DAYOFWEEK`` arithmetic is off by a day),
    and the pipeline's DuckDB macros (``lakeshop_utc_timestamp(value, tz)``,
    ``lakeshop_key(value)``) become their Spark expressions.
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_spark_rule).sql(dialect=registry.capabilities("spark").sqlglot_dialect)


def _spark_rule(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("db") and not node.args.get("catalog"):
        renamed = exp.Table(this=exp.to_identifier(f"{node.db}__{node.name}", quoted=True))
        # columns qualified by the bare table name still resolve
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        renamed.set("alias", alias)
        return renamed
    if isinstance(node, exp.Anonymous) and node.name.lower() in MACROS:
        _, parameters = MACROS[node.name.lower()]
        given: dict[str, exp.Expr] = dict(zip(parameters, node.expressions, strict=True))

        def argument(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and n.name in given:
                return given[n.name].copy()
            return n

        return cast(exp.Expression, _macro(node.name.lower()).copy().transform(argument))
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(
            this=exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()]),
            expression=exp.Literal.number(1),
        )
    return node


#: the DuckDB macros of the pipeline's SQL (engines/duckdb/sql/<file>): the file of each one's
#: Spark twin here, and the names its parameters have in that file
MACROS = {
    "lakeshop_utc_timestamp": ("utc_timestamp.sql", ("_utc_value", "_utc_tz")),
    "lakeshop_key": ("key.sql", ("_key_value",)),
}


@functools.cache
def _macro(name: str) -> exp.Expr:
    """The Spark expression of the macro ``name`` over its parameters."""
    text = (Path(__file__).parent / MACROS[name][0]).read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return sqlglot.parse_one(body, read="spark")


def view_name(name: str) -> str:
    """The Spark view bound for a logical table name."""
    return name.replace(".", "__")


#: joins DuckDB has and Spark SQL has not (SQLGlot writes them through unchanged)
_DUCKDB_ONLY_JOINS = ("ASOF", "POSITIONAL")


def spark_problem(sql: str) -> tuple[exp.Expr, str] | None:
    """The first construct of a DuckDB-dialect query that does not transpile to Spark SQL
    (the innermost node SQLGlot refuses to write, or a DuckDB-only join) and why; None when
    it all does."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for join in tree.find_all(exp.Join):
        kind = str(join.args.get("method") or join.args.get("kind") or "").upper()
        if kind in _DUCKDB_ONLY_JOINS:
            return join, f"{kind} JOIN has no equivalent in Spark SQL"
    spark = registry.capabilities("spark").sqlglot_dialect
    try:
        tree.copy().transform(_spark_rule).sql(dialect=spark, unsupported_level=ErrorLevel.RAISE)
        return None
    except UnsupportedError as exc:
        message = str(exc).strip().splitlines()[0]
    found: tuple[exp.Expr, str] = (tree, message)
    for node in tree.walk():  # breadth first: the last one refused is the innermost
        try:
            node.copy().transform(_spark_rule).sql(
                dialect=spark, unsupported_level=ErrorLevel.RAISE
            )
        except UnsupportedError as exc:
            found = (node, str(exc).strip().splitlines()[0])
        except Exception:  # a fragment that is not SQL on its own
            continue
    return found

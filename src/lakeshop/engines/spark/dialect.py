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
    and ``lakeshop_utc_timestamp(value, tz)`` (a macro on DuckDB) becomes its Spark expression.
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
    if isinstance(node, exp.Anonymous) and node.name.lower() == UTC_TIMESTAMP:
        value, tz = node.expressions

        def argument(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and n.name in ("_utc_value", "_utc_tz"):
                given: exp.Expr = value if n.name == "_utc_value" else tz
                return given.copy()
            return n

        return cast(exp.Expression, _utc_timestamp().copy().transform(argument))
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(
            this=exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()]),
            expression=exp.Literal.number(1),
        )
    return node


#: the function the pipeline's SQL types timestamps with (engines/duckdb/sql/utc_timestamp.sql)
UTC_TIMESTAMP = "lakeshop_utc_timestamp"


@functools.cache
def _utc_timestamp() -> exp.Expr:
    """The Spark expression of ``lakeshop_utc_timestamp`` over ``_utc_value`` and ``_utc_tz``."""
    text = (Path(__file__).parent / "utc_timestamp.sql").read_text()
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

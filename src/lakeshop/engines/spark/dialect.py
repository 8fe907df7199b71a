"""SQL in DuckDB's dialect in, Spark's out: the dialect rules SQLGlot does not apply itself."""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from lakeshop.engines import registry


@functools.lru_cache(maxsize=4096)
def to_spark(sql: str) -> str:
    """Transpile one DuckDB-dialect statement to Spark SQL (cached per text).

    The dialect rules SQLGlot does not apply itself live here, and only here:
    ``schema.table`` names become the views the engine binds (``schema__table``), and
    ``ISODOW`` becomes ``WEEKDAY + 1`` (SQLGlot's ``DAYOFWEEK`` arithmetic is off by a day).
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
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(
            this=exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()]),
            expression=exp.Literal.number(1),
        )
    return node


def view_name(name: str) -> str:
    """The Spark view bound for a logical table name."""
    return name.replace(".", "__")

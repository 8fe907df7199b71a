"""``lakeshop compile``: a table's SQL as each engine runs it (``$params`` filled in, then
transpiled to Spark SQL), or the one line saying why it cannot run."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot

from lakeshop.app.models.resolve import Models, position
from lakeshop.core.errors import LakeshopError, ModelError
from lakeshop.engines.spark.dialect import spark_problem, to_spark
from lakeshop.pipeline.graph import Graph


@dataclass(frozen=True)
class Compiled:
    """A table's SQL on each engine, and which definition it is."""

    name: str
    kind: str
    defined_by: str
    reads: tuple[str, ...]
    duckdb: str
    spark: str


def compile_table(graph: Graph, models: Models, name: str) -> Compiled:
    """The SQL of ``name`` (a project model or a built-in table) on DuckDB and on Spark;
    a :class:`ModelError` naming file, line and column when it cannot run on one of them."""
    if name in models.refused:
        raise models.refused[name]
    table = graph.tables.get(name)
    if table is None:
        raise LakeshopError(
            f"no table {name}; project models: {', '.join(sorted(models.files)) or 'none'}"
        )
    if not table.sql:
        raise LakeshopError(
            f"table {name} ({table.kind.value}) has no SQL: it is loaded from files"
        )
    file = table.origin or (str(table.sql_file) if table.sql_file else name)
    try:
        problem = spark_problem(table.sql)
    except sqlglot.errors.SqlglotError as exc:
        raise ModelError(file, None, f"SQL does not parse: {exc}") from exc
    if problem is not None:
        node, why = problem
        line, col = _place(node)
        raise ModelError(file, line, f"does not transpile to Spark SQL: {why}", col)
    return Compiled(
        name,
        table.kind.value,
        table.defined_by,
        tuple(sorted(graph.upstream[name])),
        table.sql.strip(),
        sqlglot.transpile(to_spark(table.sql), read="spark", write="spark", pretty=True)[0],
    )


def _place(node: sqlglot.exp.Expr) -> tuple[int | None, int | None]:
    for n in node.walk():
        if isinstance(n, sqlglot.exp.Identifier) and n.meta.get("line"):
            return position(n)
    return None, None

"""The SQL of a column mask and of a row filter, as sqlglot expressions.

Masks are the templates of ``sql/`` (``hash``, ``redact``, ``partial``) over the column, or
the policy's own expression (``kind: sql``). Row filters are the policy's predicates with the
user's attributes put in as literals (:mod:`lakeshop.core.sqltext`), never pasted as text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeshop.app.access.policy import Attribute, Mask
from lakeshop.app.sandbox import check_expression
from lakeshop.core import sqltext
from lakeshop.core.errors import LakeshopError

SQL_DIR = Path(__file__).parent / "sql"


@functools.cache
def _template(kind: str) -> sqltext.Template:
    return sqltext.load(SQL_DIR / f"{kind}.sql", f"access/sql/{kind}.sql")


def mask_expression(mask: Mask, column: str) -> exp.Expr:
    """What ``column`` reads as under ``mask``."""
    value = sqltext.to_column(column)
    if mask.kind == "sql":
        assert mask.sql is not None  # checked when the policy loads
        return parse_expression(mask.sql, "mask")
    params: dict[str, sqltext.Param] = {"value": value}
    if mask.kind == "redact":
        params["replacement"] = mask.replacement
    elif mask.kind == "partial":
        params |= {"keep_first": mask.keep_first, "keep_last": mask.keep_last}
    return parse_expression(_template(mask.kind).render(params), "mask")


def filter_expression(predicate: str, attributes: Mapping[str, Attribute]) -> exp.Expr:
    """The row filter ``predicate`` with each ``$attribute`` replaced by the user's value.

    Raises :class:`LakeshopError` naming the attributes the user lacks (no rows are shown
    rather than all of them).
    """
    template = sqltext.Template(predicate, "row filter")
    missing = sorted(template.parameters - attributes.keys())
    if missing:
        raise LakeshopError(
            f"the row filter '{predicate}' needs the user attribute(s) "
            f"{', '.join(missing)}, which the user does not have"
        )
    values = {k: v for k, v in attributes.items() if k in template.parameters}
    return parse_expression(template.render(values), "row filter")


def filter_parameters(predicate: str) -> frozenset[str]:
    """The ``$attribute`` names a row filter reads."""
    return sqltext.Template(predicate, "row filter").parameters


def parse_expression(sql: str, what: str) -> exp.Expr:
    """One SQL expression over a table's own columns: no table, subquery or function that
    reaches files, settings or the environment (the query sandbox's rules)."""
    try:
        node = sqlglot.parse_one(sql, read="duckdb", into=exp.Condition)
    except SqlglotError as exc:
        raise LakeshopError(f"{what} '{sql}' is not one SQL expression: {exc}") from exc
    check_expression(node, what)
    return node

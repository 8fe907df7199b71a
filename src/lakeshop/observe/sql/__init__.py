"""Read-only SQL over gold and ``_system`` for the quality view and the report, one file each.

Files take parameters as ``$name``; :func:`render` substitutes SQL literals made by SQLGlot
from typed Python values (a ``date``, an ``int``, a ``str``), never raw user text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from string import Template

from sqlglot import exp

SQL_DIR = Path(__file__).parent


def load(name: str) -> str:
    """The text of ``sql/<name>.sql`` (``name`` like ``report/revenue_by_channel``)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


class TableName(str):
    """A ``schema.table`` name to render as is (an identifier, not a string literal)."""

    __slots__ = ()

    def __new__(cls, name: str) -> TableName:
        if not _NAME.match(name):
            raise ValueError(f"not a schema.table name: {name!r}")
        return super().__new__(cls, name)


Param = date | int | float | str


def literal(value: Param) -> str:
    """``value`` as a DuckDB literal: ``DATE '2026-01-02'``, ``7``, ``'text'`` (quotes escaped)."""
    if isinstance(value, TableName):
        return str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"no SQL literal for {type(value).__name__}")
    if isinstance(value, str):
        return exp.Literal.string(value).sql(dialect="duckdb")
    return exp.Literal.number(value).sql(dialect="duckdb")


def render(name: str, **params: Param) -> str:
    """The SQL of ``name`` with every ``$param`` replaced by its literal (a missing one raises)."""
    return Template(load(name)).substitute({k: literal(v) for k, v in params.items()})

"""Read-only SQL over gold and ``_system`` for the quality view and the report, one file each.

Files take parameters as ``$name``; :func:`render` substitutes the SQL of typed Python values
(a ``date``, an ``int``, a ``str`` as a literal; a table as an identifier made by
:func:`lakeshop.core.sqltext.to_table`), never raw user text.
"""

from __future__ import annotations

from pathlib import Path

from lakeshop.core import sqltext

SQL_DIR = Path(__file__).parent


def load(name: str) -> str:
    """The text of ``sql/<name>.sql`` (``name`` like ``report/revenue_by_channel``)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def render(name: str, **params: sqltext.Param) -> str:
    """The SQL of ``name`` with every ``$param`` replaced (a missing or unknown one raises)."""
    return sqltext.Template(load(name), f"{name}.sql").render(params)

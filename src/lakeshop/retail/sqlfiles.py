"""The retail tables' SQL files: ``sql/<schema>/<table>.sql`` beside their declarations.

Where a rule depends on the project (its base currency, what makes a line a credit note) the
SQL names a ``$param`` that the project's :class:`~lakeshop.retail.settings.RetailSettings`
fill in, through the SQL-text toolkit.
"""

from __future__ import annotations

from pathlib import Path

from lakeshop.core import sqltext
from lakeshop.pipeline.model import Kind, Table
from lakeshop.retail.settings import RetailSettings

SQL_DIR = Path(__file__).parent / "sql"


def sql_table(
    name: str, kind: Kind, settings: RetailSettings | None = None, **kwargs: object
) -> Table:
    """A table whose SQL lives in ``sql/<schema>/<table>.sql``, its ``$params`` filled from
    the project's ``settings`` (default: USD base, negative quantities are credit notes)."""
    schema, short = name.split(".")
    path = SQL_DIR / schema / f"{short}.sql"
    template = sqltext.load(path, str(path.relative_to(SQL_DIR.parent)))
    # a silver table is named after its source (``customers_history``: customers)
    source = short.removesuffix("_history") if schema == "silver" else None
    sql = template.render((settings or RetailSettings()).params(source), unused="ignore")
    return Table(name=name, kind=kind, sql=sql, sql_file=path, **kwargs)  # type: ignore[arg-type]

"""The retail tables' SQL files: ``sql/<schema>/<table>.sql`` beside their declarations."""

from __future__ import annotations

from pathlib import Path

from lakeshop.pipeline.model import Kind, Table

SQL_DIR = Path(__file__).parent / "sql"


def sql_table(name: str, kind: Kind, **kwargs: object) -> Table:
    """A table whose SQL lives in ``sql/<schema>/<table>.sql``."""
    schema, short = name.split(".")
    path = SQL_DIR / schema / f"{short}.sql"
    return Table(name=name, kind=kind, sql=path.read_text(), sql_file=path, **kwargs)  # type: ignore[arg-type]

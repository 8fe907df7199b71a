"""Saved analytics queries: one ``.sql`` file per query over ``gold.*`` tables (DuckDB dialect).

A query's description is its first line, a ``-- `` comment. Windowed queries take the
parameter ``$as_of`` (a DATE): their windows are relative to it, never to the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakeshop.core import sqltext

QUERY_DIR = Path(__file__).parent


@dataclass(frozen=True)
class SavedQuery:
    """A saved query: its name (the file's stem), one-line description and SQL text."""

    name: str
    description: str
    sql: str

    @property
    def template(self) -> sqltext.Template:
        """The SQL as a template (its parameters: ``$as_of`` or none)."""
        return sqltext.Template(self.sql, f"saved query {self.name}")

    @property
    def uses_as_of(self) -> bool:
        """Whether the query has a window relative to ``$as_of``."""
        return "as_of" in self.template.parameters


def load(directory: Path = QUERY_DIR) -> list[SavedQuery]:
    """The saved queries of ``directory``, by name."""
    queries = []
    for path in sorted(directory.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        first = sql.lstrip().splitlines()[0] if sql.strip() else ""
        description = first[3:].strip() if first.startswith("-- ") else ""
        queries.append(SavedQuery(path.stem, description, sql))
    return queries

"""The report's data: its SQL files under ``observe/sql/report`` run through
:func:`lakeshop.app.api.query`; a query over a table that does not exist yet is no data."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from lakeshop.core.errors import LakeshopError
from lakeshop.observe import sql
from lakeshop.pipeline.graph import referenced_tables

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.project import Project


class Source:
    """Runs the report's SQL files; a query over a table that does not exist yet is no data."""

    def __init__(self, project: Project, target: str | None):
        self.project, self.target = project, target
        self.lakehouse = project.lakehouse(target)

    def missing(self, text: str) -> str | None:
        """The first table ``text`` reads that the lakehouse does not hold, if any."""
        for name in sorted(referenced_tables(text)):
            if not self.lakehouse.exists(name):
                return name
        return None

    def fetch(self, name: str, **params: Any) -> tuple[pa.Table | None, str]:
        """The rows of ``sql/report/<name>.sql``, or None and why there are none."""
        from lakeshop.app import api

        text = sql.render(f"report/{name}", **params)
        absent = self.missing(text)
        if absent is not None:
            return None, f"{absent} does not exist yet (run `lakeshop run`)"
        found = api.query(self.project, text, self.target, shape=sql.load(f"report/{name}"))
        return (found, "") if found.num_rows else (None, "the query returned no rows")

    def as_of(self) -> date | None:
        from lakeshop.app import analytics

        if self.missing(analytics.LATEST_SQL):
            return None
        try:
            return analytics.default_as_of(self.project, self.target)
        except LakeshopError:
            return None

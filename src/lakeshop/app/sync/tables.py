"""Which tables a sync ships, where to, and the column each one's changes are applied by."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from lakeshop.app.project import Project
from lakeshop.app.sync_config import PostgresSync
from lakeshop.core.errors import ConfigError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline.model import Kind

#: lakehouse tables never shipped: the run log and the tables of rows kept aside
_NOT_SHIPPED_SCHEMAS = ("_system",)
_NOT_SHIPPED_SUFFIXES = ("__quarantine", "__rejects")


@dataclass(frozen=True)
class SyncTable:
    """A lakehouse table and its PostgreSQL destination."""

    name: str
    pg_schema: str
    pg_name: str
    #: the column a change between two versions is applied by (DELETE the touched values,
    #: INSERT their rows); None: the table is replaced whole when it changed
    change_column: str | None

    @property
    def dest(self) -> str:
        return f"{self.pg_schema}.{self.pg_name}"


def shippable(lakehouse: Lakehouse) -> list[str]:
    """Every lakehouse table a sync may ship (not ``_system``, quarantines or rejects)."""
    return [
        n
        for n in lakehouse.tables()
        if n.split(".", 1)[0] not in _NOT_SHIPPED_SCHEMAS and not n.endswith(_NOT_SHIPPED_SUFFIXES)
    ]


def plan(
    project: Project,
    lakehouse: Lakehouse,
    settings: PostgresSync,
    select: Sequence[str] | None = None,
) -> list[SyncTable]:
    """The tables to ship: ``select`` (schemas or ``schema.table``, any lakehouse table) when
    given, else those of ``sync.postgres`` (its schemas and tables, less ``exclude``)."""
    known = shippable(lakehouse)
    if select:
        chosen = []
        for item in select:
            found = [n for n in known if n == item or n.split(".", 1)[0] == item]
            if not found:
                close = difflib.get_close_matches(item, known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError("--select", f"a lakehouse schema or schema.table{hint}", item)
            chosen += [n for n in found if n not in chosen]
    else:
        wanted = set(settings.tables)
        chosen = [
            n
            for n in known
            if (n.split(".", 1)[0] in settings.schemas or n in wanted) and n not in settings.exclude
        ]
    out = []
    for name in chosen:
        schema, short = name.split(".", 1)
        out.append(
            SyncTable(name, settings.pg_schema(schema), short, _change_column(project, name))
        )
    return out


def _change_column(project: Project, name: str) -> str | None:
    """The declared column a table changes by: its ``incremental_by`` (the values the pipeline
    recomputes), else its surrogate key (SCD2) or first key. Every changed row is in a file a
    commit removed or added, so deleting and inserting the values of that column found in
    those files is exact whatever the column; a column the files are clustered by sends less.
    """
    declared = project.graph.tables.get(name)
    if declared is None or declared.kind is Kind.VIEW:
        return None
    if declared.incremental_by:
        return declared.incremental_by
    if declared.surrogate_key:
        return declared.surrogate_key
    if declared.kind is not Kind.SCD2 and declared.keys:
        return declared.keys[0]
    return None

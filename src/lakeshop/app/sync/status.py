"""``lakeshop sync status``: per table, what PostgreSQL holds (from ``lakeshop_sync.state``,
written in the transaction that shipped it) against the lakehouse's latest version."""

from __future__ import annotations

from typing import Any

from lakeshop.app.project import Project
from lakeshop.app.sync.postgres import Dsn, Postgres
from lakeshop.app.sync.tables import plan

COLUMNS = [
    "table",
    "destination",
    "shipped_version",
    "latest_version",
    "state",
    "rows",
    "synced_at",
    "seconds",
]


def sync_status(project: Project, target: str | None = None) -> list[dict[str, Any]]:
    """One row per table the sync ships (and any other it shipped before): the Delta version
    PostgreSQL holds, the lakehouse's latest, ``current`` / ``behind`` / ``never shipped``,
    rows, when and how long its last sync took."""
    settings = project.config.sync.postgres
    lakehouse = project.lakehouse(target)
    tables = {t.name: t for t in plan(project, lakehouse, settings)}
    with Postgres(Dsn.from_env(settings.dsn_env), settings.lock_timeout_s) as pg:
        pg.ensure_meta()
        held = {r["table_name"]: r for r in pg.state_rows()}
    rows = []
    for name in sorted(set(tables) | set(held)):
        state = held.get(name)
        latest = lakehouse.version(name) if lakehouse.exists(name) else None
        if state is None:
            kind = "never shipped"
        elif latest is None:
            kind = "gone from the lakehouse"
        else:
            kind = "current" if state["delta_version"] == latest else "behind"
        rows.append(
            {
                "table": name,
                "destination": state["dest_table"] if state else tables[name].dest,
                "shipped_version": state["delta_version"] if state else None,
                "latest_version": latest,
                "state": kind,
                "rows": state["rows"] if state else None,
                "synced_at": state["synced_at"] if state else None,
                "seconds": round(state["seconds"], 2) if state else None,
            }
        )
    return rows

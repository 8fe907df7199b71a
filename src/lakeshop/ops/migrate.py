"""``lakeshop migrate``: bring a lakehouse written by an older lakeshop to this one's format.

Each step upgrades one format to the next (:data:`STEPS`, from format 0: before lakeshop
recorded formats) and records the new format in ``_system.format`` with what it did; a step
is safe to run again (a migration killed midway is finished by the next ``migrate``). A
lakehouse at a newer format than this lakeshop knows is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import lakeformat, system
from lakeshop.pipeline.lakeformat import FORMAT_VERSION as FORMAT_VERSION
from lakeshop.pipeline.lakeformat import FormatMismatch


def _system_tables_complete(lakehouse: Lakehouse) -> str:
    """Format 0 → 1: every ``_system`` table exists, with every column of its schema.

    Older lakehouses lack the columns added since they were written (read as NULL until the
    next append adds them) and the tables added since (``_system.sync`` …): written now, so
    that SQL over them (``lakeshop sql``, BI tools reading the Delta tables) sees the schema
    the documentation gives.
    """
    done = []
    for name, schema in system.SCHEMAS.items():
        if name == system.FORMAT:
            continue
        if not lakehouse.exists(name):
            system.append(lakehouse, name, [])
            done.append(f"created {name}")
            continue
        held = lakehouse.schema(name).names
        missing = [c for c in schema.names if c not in held]
        if missing:
            table = system.read(lakehouse, name)  # the missing columns as NULL, in order
            lakehouse.write(name, table.cast(_with_extras(schema, table)), "overwrite")
            done.append(f"{name} + {', '.join(missing)}")
    return "; ".join(done) or "nothing to change"


def _with_extras(schema: pa.Schema, table: pa.Table) -> pa.Schema:
    """``schema`` and then the table's columns it does not name (kept as they are)."""
    extra = [table.schema.field(c) for c in table.column_names if c not in schema.names]
    return pa.schema([*schema, *extra])


#: from format N, the step to N + 1: what it did (recorded in _system.format)
STEPS: dict[int, Callable[[Lakehouse], str]] = {0: _system_tables_complete}


@dataclass(frozen=True)
class Step:
    """One format step done: from, to, and what changed."""

    from_version: int
    to_version: int
    note: str


def migrate(project: Project, target: str | None = None) -> tuple[int | None, list[Step]]:
    """Upgrade the target's lakehouse to :data:`FORMAT_VERSION` under its writer lock; the
    format found and the steps done (none when it was current or holds no table)."""
    name, _ = project.target(target)
    lakehouse = project.lakehouse(target)
    with api.writer_lock_of(project, target, purpose="migrate"):
        found = lakeformat.version(lakehouse)
        if found is None or found == FORMAT_VERSION:
            return found, []
        if found > FORMAT_VERSION:
            lakeformat.check_writable(lakehouse, name)  # raises, saying to upgrade lakeshop
        steps = []
        current = found
        while current < FORMAT_VERSION:
            step = STEPS.get(current)
            if step is None:
                raise FormatMismatch(f"target {name}: no migration from format {current}")
            note = step(lakehouse)
            lakeformat.record(lakehouse, current + 1, f"migrated from {current}: {note}")
            steps.append(Step(current, current + 1, note))
            current += 1
        return found, steps

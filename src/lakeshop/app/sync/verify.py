"""What a sync compares: the columns shipped (and how the access policy governs them), a
snapshot's rows as PostgreSQL should hold them (the role's view of them), and PostgreSQL's
checksum of a table against Delta's, failing the table on a difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeshop.app.sync.masks import TableView
from lakeshop.app.sync.pgtypes import PgColumn, differences
from lakeshop.app.sync.postgres import Postgres
from lakeshop.app.sync.tables import SyncTable
from lakeshop.core.errors import LakeshopError
from lakeshop.engines.snapshots import Snapshot

if TYPE_CHECKING:
    import pyarrow.dataset as pads


class SyncMismatch(LakeshopError):
    """PostgreSQL does not hold what Delta holds after a table's sync (rolled back)."""


def row_batches(snap: Snapshot, size: int, view: TableView | None) -> Iterator[pa.RecordBatch]:
    """The snapshot's rows in batches, as the role sees them under ``view``."""
    dataset: pads.Dataset = snap.dataset()
    batches = dataset.to_batches(columns=snap.schema.names, batch_size=size)
    return view.apply(batches) if view is not None else iter(batches)


def compare(
    pg: Postgres,
    t: SyncTable,
    snap: Snapshot,
    cols: list[PgColumn],
    delta: list[Any],
    where: str = "",
) -> None:
    """Fail the table (rolling its transaction back) unless PostgreSQL's checksum of the
    rows (those ``where`` selects) equals Delta's."""
    found = pg.checksum(t.pg_schema, t.pg_name, cols, where)
    wrong = differences(cols, delta, found)
    if wrong:
        scope = "touched rows" if where else "rows"
        raise SyncMismatch(
            f"table {t.name}: PostgreSQL {t.dest} differs from Delta version {snap.version} "
            f"({scope}): {'; '.join(wrong[:3])}; rolled back"
        )


def expected_rows(snap: Snapshot, view: TableView | None, size: int) -> int:
    """The rows of ``snap`` PostgreSQL should hold (those the role's row filters keep)."""
    if view is not None:
        return view.rows(snap, size)
    return snap.rows if snap.rows is not None else snap.dataset().count_rows()


#: the name of the fingerprint's entry saying how the access policy governs the table
GOVERNED = "(governed by access.yml)"


def fingerprint(cols: list[PgColumn], view: TableView | None = None) -> str:
    """The columns shipped (and, under a role, how the access policy masks and filters them:
    a change of either makes the next sync replace the table)."""
    pairs = [[c.name, c.pg_type] for c in cols]
    if view is not None:
        pairs.append([GOVERNED, view.describe()])
    return json.dumps(pairs)


def columns_of(fingerprint: str) -> tuple[list[list[str]], str | None]:
    """A fingerprint's column pairs, and the policy's entry (None: shipped as stored)."""
    pairs = json.loads(fingerprint)
    policy = next((p[1] for p in pairs if p[0] == GOVERNED), None)
    return [p for p in pairs if p[0] != GOVERNED], policy

"""One version of a Delta table, pinned, and what changed between two versions.

A reader outside the pipeline (the PostgreSQL sync) reads a table at the version it decided
to ship, never "the latest" twice: a run committing meanwhile changes nothing of what it
reads. What changed between two versions comes from the Delta log: every row inserted,
updated or deleted between them is in a data file removed or added in between (a file is
never modified in place), so the values of a column in those files cover every changed row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from lakeshop.core.errors import TableNotFound
from lakeshop.core.sqltext import ident
from lakeshop.engines.arrow_types import plain_schema
from lakeshop.engines.lakehouse import Lakehouse

if TYPE_CHECKING:
    import pyarrow.dataset as pads


@dataclass(frozen=True)
class Snapshot:
    """A table at one version: its data files, schema and row count."""

    name: str
    version: int
    #: URIs of the data files (empty when the table uses deletion vectors: see ``dataset``)
    files: tuple[str, ...]
    schema: pa.Schema
    partition_columns: tuple[str, ...]
    #: rows, from the log's statistics (None when a file has none)
    rows: int | None
    _table: DeltaTable

    @property
    def plain_files(self) -> bool:
        """Whether a scan of ``files`` reads the snapshot (no deletion vectors)."""
        return "deletionVectors" not in (self._table.protocol().reader_features or [])

    def dataset(self, files: tuple[str, ...] | None = None) -> pads.Dataset:
        """The snapshot (or those of its ``files``) as an Arrow dataset."""
        import pyarrow.dataset as pads

        if not self.plain_files:
            return self._table.to_pyarrow_dataset(schema=self.schema)
        partitioning = (
            pads.partitioning(
                pa.schema([self.schema.field(c) for c in self.partition_columns]), flavor="hive"
            )
            if self.partition_columns
            else None
        )
        return pads.dataset(
            [_local(f) for f in (self.files if files is None else files)],
            schema=self.schema,
            format="parquet",
            partitioning=partitioning,
        )


def _local(uri: str) -> str:
    """A local file of the Delta log as a path (delta-rs gives it percent-encoded)."""
    path = uri.removeprefix("file://")
    return unquote(path) if path.startswith("/") else uri


def snapshot(lakehouse: Lakehouse, name: str, version: int | None = None) -> Snapshot:
    """``name`` at ``version`` (default: its latest); :class:`TableNotFound` when the table or
    that version (its log cleaned up) is not there."""
    try:
        table = DeltaTable(str(lakehouse.path(name)), version=version)
    except (TableNotFoundError, OSError, ValueError) as exc:
        raise TableNotFound(
            name if version is None else f"{name}@v{version}", lakehouse.tables()
        ) from exc
    except Exception as exc:  # deltalake raises its own error for a version whose log is gone
        if version is None:
            raise
        raise TableNotFound(f"{name}@v{version}") from exc
    actions = pa.table(table.get_add_actions(flatten=True))
    counts = actions.column("num_records") if "num_records" in actions.column_names else None
    rows = None
    if counts is not None and counts.null_count == 0:
        rows = int(pc.sum(counts).as_py() or 0)
    return Snapshot(
        name=name,
        version=table.version(),
        files=tuple(table.file_uris()),
        schema=plain_schema(pa.schema(table.schema().to_arrow())),
        partition_columns=tuple(table.metadata().partition_columns),
        rows=rows,
        _table=table,
    )


def version_at(lakehouse: Lakehouse, name: str, when: datetime) -> int | None:
    """The table's version current at ``when`` (its newest commit made at or before it);
    None when the table had no commit then, or its log before ``when`` was cleaned up."""
    try:
        table = DeltaTable(str(lakehouse.path(name)))
    except (TableNotFoundError, OSError) as exc:
        raise TableNotFound(name, lakehouse.tables()) from exc
    limit = when.astimezone(UTC).timestamp() * 1000 if when.tzinfo else _utc_ms(when)
    found = [int(c["version"]) for c in table.history() if int(c["timestamp"]) <= limit]
    return max(found) if found else None


def _utc_ms(when: datetime) -> float:
    """A naive ``datetime`` is taken as UTC (the time of Delta's commit stamps)."""
    return when.replace(tzinfo=UTC).timestamp() * 1000


def changed_values(old: Snapshot, new: Snapshot, column: str) -> pa.Array | None:
    """The distinct values of ``column`` in the rows that differ between ``old`` and ``new``
    (inserted, updated or deleted). Only the files one version has and the other has not are
    read, and of their rows only those not also in the other side (a rewrite copies rows it
    does not change): ``added EXCEPT ALL removed`` and ``removed EXCEPT ALL added``, NULLs
    equal. None when the log cannot tell (deletion vectors, a file of ``old`` removed since by
    vacuum, the columns of the two versions differ)."""
    if not (old.plain_files and new.plain_files):
        return None
    if old.schema.names != new.schema.names or column not in new.schema.names:
        return None
    before, after = set(old.files), set(new.files)
    removed, added = tuple(sorted(before - after)), tuple(sorted(after - before))
    kind = new.schema.field(column).type
    try:
        if not removed:  # an append: every row of the new files is new
            data = new.dataset(added).to_table(columns=[column]) if added else None
            found = data.column(column).combine_chunks() if data is not None else None
            return pc.unique(found) if found is not None else pa.array([], kind)
        return _differing_values(old.dataset(removed), new.dataset(added), column).cast(kind)
    except (FileNotFoundError, OSError):
        return None


def _differing_values(removed: pads.Dataset, added: pads.Dataset, column: str) -> pa.Array:
    import duckdb

    key = ident(column)
    with duckdb.connect() as con:
        con.register("removed_rows", removed)
        con.register("added_rows", added)
        result = con.sql(
            f"SELECT DISTINCT {key} FROM ("
            "(SELECT * FROM added_rows EXCEPT ALL SELECT * FROM removed_rows) UNION ALL "
            "(SELECT * FROM removed_rows EXCEPT ALL SELECT * FROM added_rows))"
        ).to_arrow_table()
    return result.column(0).combine_chunks()

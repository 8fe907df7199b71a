"""One version of a Delta table, pinned, and what changed between two versions.

A reader outside the pipeline (the PostgreSQL sync) reads a table at the version it decided
to ship, never "the latest" twice: a run committing meanwhile changes nothing of what it
reads. What changed between two versions comes from the Delta log: every row inserted,
updated or deleted between them is in a data file removed or added in between (a file is
never modified in place), so the values of a column in those files cover every changed row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from lakeshop.core.errors import TableNotFound
from lakeshop.core.sqltext import ident
from lakeshop.engines import storage
from lakeshop.engines.arrow_rows import arrow_stream, empty_table
from lakeshop.engines.arrow_types import plain_schema
from lakeshop.engines.lakehouse import Lakehouse

if TYPE_CHECKING:
    import duckdb
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
    #: the table's folder (an object-store path reads its files through pyarrow's file system)
    _where: Path | None = None

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
        chosen = self.files if files is None else files
        filesystem = None
        if self.remote:
            filesystem, _ = storage.arrow_filesystem(self._where or Path())
            paths = [f.partition("://")[2] for f in chosen]
        else:
            paths = [_local(f) for f in chosen]
        return pads.dataset(
            paths,
            schema=self.schema,
            format="parquet",
            partitioning=partitioning,
            filesystem=filesystem,
        )

    @property
    def remote(self) -> bool:
        """Whether the files are on an object store (read through Arrow, not DuckDB's reader)."""
        return self._where is not None and storage.is_remote(self._where)


def _local(uri: str) -> str:
    """A local file of the Delta log as a path (delta-rs gives it percent-encoded)."""
    path = uri.removeprefix("file://")
    return unquote(path) if path.startswith("/") else uri


def snapshot(lakehouse: Lakehouse, name: str, version: int | None = None) -> Snapshot:
    """``name`` at ``version`` (default: its latest); :class:`TableNotFound` when the table or
    that version (its log cleaned up) is not there."""
    try:
        where = lakehouse.path(name)
        table = DeltaTable(
            str(where), version=version, storage_options=storage.delta_options(where)
        )
    except (TableNotFoundError, OSError, ValueError) as exc:
        raise TableNotFound(
            name if version is None else f"{name}@v{version}", lakehouse.tables()
        ) from exc
    except Exception as exc:  # deltalake raises its own error for a version whose log is gone
        if version is None:
            raise
        raise TableNotFound(f"{name}@v{version}") from exc
    actions = arrow_stream(table.get_add_actions(flatten=True))
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
        _where=where,
    )


def version_at(lakehouse: Lakehouse, name: str, when: datetime) -> int | None:
    """The table's version current at ``when`` (its newest commit made at or before it);
    None when the table had no commit then, or its log before ``when`` was cleaned up."""
    try:
        where = lakehouse.path(name)
        table = DeltaTable(str(where), storage_options=storage.delta_options(where))
    except (TableNotFoundError, OSError) as exc:
        raise TableNotFound(name, lakehouse.tables()) from exc
    limit = when.astimezone(UTC).timestamp() * 1000 if when.tzinfo else _utc_ms(when)
    found = [int(c["version"]) for c in table.history() if int(c["timestamp"]) <= limit]
    return max(found) if found else None


def _utc_ms(when: datetime) -> float:
    """A naive ``datetime`` is taken as UTC (the time of Delta's commit stamps)."""
    return when.replace(tzinfo=UTC).timestamp() * 1000


class Change:
    """What changed between two versions of a table, by one column: the values of ``column``
    in the rows that differ (:attr:`touched`) and, through :meth:`rows`, the new version's rows
    holding them. Open only inside :func:`changes`."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        schema: pa.Schema,
        column: str,
        touched: pa.Array,
        kept: bool,
    ):
        self._con = con
        self._schema = schema
        self.column = column
        self.touched = touched
        #: whether files both versions share hold touched values too (else only added files)
        self._kept = kept

    def rows(self, names: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The new version's rows whose ``column`` value is touched (NULL included when
        touched), ``names`` columns, in batches."""
        listed = ", ".join(ident(n) for n in names)
        key = ident(self.column)
        holds = f"SEMI JOIN touched AS t ON t.{key} IS NOT DISTINCT FROM r.{key}"
        parts = [f"SELECT {listed} FROM added_scan AS r {holds}"]
        if self._kept:
            parts.append(f"SELECT {listed} FROM kept_scan AS r {holds}")
        reader = self._con.sql(" UNION ALL ".join(parts)).to_arrow_reader(batch_rows)
        schema = pa.schema([self._schema.field(n) for n in names])
        for batch in reader:
            yield batch.cast(schema)  # as Delta's schema types them (DuckDB's may differ)


@contextmanager
def changes(old: Snapshot, new: Snapshot, column: str) -> Iterator[Change | None]:
    """What changed between ``old`` and ``new`` by ``column`` (see :class:`Change`), or None
    when the log cannot tell (deletion vectors, a file of ``old`` removed since by vacuum, the
    columns of the two versions differ).

    Every row inserted, updated or deleted in between is in a file one version has and the
    other has not; of those files' rows, the ones not also in the other side differ (a rewrite
    copies rows it does not change): ``added EXCEPT ALL removed`` and ``removed EXCEPT ALL
    added``, NULLs equal, computed as each row's net count by its 128-bit hash (a collision
    would have to fall on two rows of one column value, one added, one removed). Only those
    files are read in full (twice: the touched values, then their rows); of the files both
    versions share,
    only ``column`` is read, to find touched values there too (none when the writer replaced
    whole values, as the pipeline's ``incremental_by`` tables and keyed upserts do)."""
    import duckdb

    if not (old.plain_files and new.plain_files):
        yield None
        return
    if old.schema.names != new.schema.names or column not in new.schema.names:
        yield None
        return
    before, after = set(old.files), set(new.files)
    removed, added = tuple(sorted(before - after)), tuple(sorted(after - before))
    kept_files = tuple(sorted(before & after))
    key = ident(column)
    kind = new.schema.field(column).type
    with duckdb.connect() as con:
        try:
            # DuckDB's own Parquet reader: twice as fast as through Arrow
            _native(con, "added_scan", new, added)
            _native(con, "removed_scan", old, removed)
            _native(con, "kept_scan", new, kept_files)
            if removed:
                # a row's net count over added (+1) and removed (-1) files, by its value of
                # the column and 128 bits of hash of the whole row: rows a rewrite copied
                # unchanged cancel out (what EXCEPT ALL says, ten times faster)
                every = ", ".join(ident(n) for n in new.schema.names)
                row = f"{key} AS k, hash({every}) AS h1, hash({every}, 'lakeshop') AS h2"
                differing = (
                    f"SELECT k AS {key} FROM (SELECT k, h1, h2, sum(n) AS n FROM ("
                    f"SELECT {row}, 1 AS n FROM added_scan UNION ALL "
                    f"SELECT {row}, -1 AS n FROM removed_scan) GROUP BY k, h1, h2) WHERE n <> 0"
                )
            else:  # an append: every row of the new files is new
                differing = f"SELECT {key} FROM added_scan"
            con.execute(f"CREATE TEMP TABLE touched AS SELECT DISTINCT {key} FROM ({differing})")
            touched = con.sql("SELECT * FROM touched").to_arrow_table().column(0)
            found = (
                kept_files
                and con.sql(
                    f"SELECT count(*) FROM kept_scan AS r SEMI JOIN touched AS t "
                    f"ON t.{key} IS NOT DISTINCT FROM r.{key}"
                ).fetchall()
            )
            kept = bool(found and found[0][0])
        except (FileNotFoundError, OSError):
            yield None
            return
        yield Change(con, new.schema, column, touched.combine_chunks().cast(kind), kept)


def _empty(snap: Snapshot) -> pa.Table:
    return empty_table(snap.schema)


def _native(
    con: duckdb.DuckDBPyConnection, name: str, snap: Snapshot, files: tuple[str, ...]
) -> None:
    """``files`` of ``snap`` as the view ``name``: read by DuckDB's own Parquet reader (columns
    a file lacks are NULL), through Arrow when the table is partitioned (values in paths)."""
    if files and not snap.partition_columns and not snap.remote:
        paths = [_local(f) for f in files]
        con.read_parquet(paths, union_by_name=True).create_view(name)
    else:
        con.register(name, snap.dataset(files) if files else _empty(snap))

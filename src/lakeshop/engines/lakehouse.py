"""Where tables live: logical ``schema.table`` names mapped onto Delta tables under one root."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Schema, write_deltalake
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from lakeshop.core.errors import LakeshopError, TableNotFound
from lakeshop.core.sqltext import column, join_on
from lakeshop.engines import delta_log, storage
from lakeshop.engines.arrow_rows import arrow_stream, empty_table
from lakeshop.engines.arrow_types import plain_schema
from lakeshop.engines.commit_info import commit_properties, watermarks_of
from lakeshop.engines.data_files import read_file
from lakeshop.engines.open_tables import OpenTables, Snapshot

if TYPE_CHECKING:
    import pyarrow.dataset as pads

#: the batch that wrote each row (every stored table of the pipeline has it)
BATCH_COLUMN = "_batch_id"
#: in data given to :meth:`Lakehouse.merge`: TRUE marks a key to delete
DELETE_FLAG = "_delete"
#: data files are cut at about this size: a rewrite of part of a table (a predicate
#: overwrite, a merge) rewrites only the files holding rows it replaces. The tables are
#: written in their business order (dates), so a file holds a few days: the day's run
#: rewrites those it touches, not the month around them (at SF 1 about 3 days of
#: fact_sales per file)
TARGET_FILE_BYTES = 4 << 20
#: the properties a table is created with: merges and compaction (``maintain``) cut their
#: files at the same size (delta-rs's default, 100 MB, made one file of a merged table)
TABLE_CONFIGURATION = {"delta.targetFileSize": str(TARGET_FILE_BYTES)}

T = TypeVar("T")


@dataclass(frozen=True)
class DataFile:
    """A Parquet file written into a table's folder by another writer, to be committed."""

    #: relative to the table's folder
    path: str
    size: int
    modified_ms: int
    rows: int
    #: Delta statistics as JSON (``numRecords``, ``nullCount``, ``minValues``, ``maxValues``)
    stats: str


@dataclass(frozen=True)
class Lakehouse:
    """A storage root holding Delta tables at ``<root>/<catalog>/<prefix><schema>/<table>``."""

    root: Path
    catalog: str = "lakeshop"
    schema_prefix: str = ""
    #: time travel: when set, the only tables are these, each read at its pinned Delta
    #: version, and nothing can be written (see :meth:`at`)
    versions: Mapping[str, int] | None = field(default=None, compare=False, hash=False)
    #: a pattern of the schema folders under the catalog that are other targets' (its users'
    #: development schemas, ``alice_gold``, beside an unprefixed target's ``gold``): never
    #: listed by :meth:`tables`, never this lakehouse's (see app.environments.foreign_schemas)
    foreign: str | None = field(default=None, compare=False, hash=False)
    #: opened tables by path: opening one reads its log, which a run does for every table
    #: many times (binding, watermarks, writes); see :mod:`.open_tables`
    _open: OpenTables = field(
        default_factory=OpenTables, init=False, repr=False, compare=False, hash=False
    )

    def at(self, versions: Mapping[str, int]) -> Lakehouse:
        """The same storage read as it was: each of ``versions``' tables at its Delta version,
        the others absent. Read-only (a write raises)."""
        return Lakehouse(self.root, self.catalog, self.schema_prefix, dict(versions), self.foreign)

    def _writable(self, name: str) -> None:
        if self.versions is not None:
            raise LakeshopError(f"{name}: a lakehouse read as it was (time travel) is read-only")

    def path(self, name: str) -> Path:
        """Physical location of the logical table ``schema.table``."""
        schema, table = split_name(name)
        return self.root / self.catalog / f"{self.schema_prefix}{schema}" / table

    def mine(self, folder: str) -> bool:
        """Whether a folder directly under the catalog is this lakehouse's (under its prefix,
        not another target's: see :attr:`foreign`)."""
        if not folder.startswith(self.schema_prefix):
            return False
        return self.foreign is None or re.fullmatch(self.foreign, folder) is None

    @property
    def raw_dir(self) -> Path:
        """Immutable raw copies of ingested files, by source and ingestion date (under the
        schema prefix: two prefixed targets sharing a catalog keep their own)."""
        return self.root / self.catalog / f"{self.schema_prefix}_raw"

    def exists(self, name: str) -> bool:
        """Whether the Delta table has at least one commit (see :mod:`.delta_log`)."""
        if self.versions is not None:
            return name in self.versions
        return self._open.exists(self.path(name), delta_log.has_commit)

    def delta(self, name: str, version: int | None = None) -> DeltaTable:
        """Open the Delta table, raising :class:`TableNotFound` with the known names.

        The latest snapshot is opened once and reused until the table's log changes (a commit
        adds a file to ``_delta_log``, which changes its entry count and modification time);
        see :mod:`.open_tables`.
        """
        if version is not None:
            return self._open_table(name, version)
        return self._snapshot(name).table

    def _open_table(self, name: str, version: int | None = None) -> DeltaTable:
        try:
            path = self.path(name)
            return DeltaTable(
                str(path), version=version, storage_options=storage.delta_options(path)
            )
        except TableNotFoundError as exc:
            raise TableNotFound(name, self.tables()) from exc

    def _snapshot(self, name: str) -> Snapshot:
        path = self.path(name)
        if self.versions is not None:  # pinned: opened once at its version, never changes
            if name not in self.versions:
                raise TableNotFound(name, self.tables())
            version = self.versions[name]
            return self._open.pinned(path, lambda: self._open_table(name, version))
        return self._open.latest(path, lambda: self._open_table(name))

    def _derive(self, name: str, key: str, compute: Callable[[DeltaTable], T]) -> T:
        """``compute(table)`` once per snapshot of the table."""
        snap = self._snapshot(name)
        if key not in snap.derived:
            snap.derived[key] = compute(snap.table)
        value: T = snap.derived[key]
        return value

    def _changed(self, name: str) -> None:
        """Forget what was derived from a table this process is committing to (the opened
        table follows its own commits; it is brought up to date on next use)."""
        self._open.changed(self.path(name))

    @contextlib.contextmanager
    def _committing(self, name: str) -> Iterator[None]:
        """A commit to ``name`` by this process: what was derived from the table is forgotten
        before it and after it (a reader in another thread may have looked in between)."""
        self._changed(name)
        try:
            yield
        finally:
            self._changed(name)

    def dataset(self, name: str) -> pads.Dataset:
        """A snapshot of the table as an Arrow dataset over its Parquet files.

        Arrow's own file system reads the files (the Delta log gives the list): Arrow reader
        threads calling back into deltalake's file system have aborted the interpreter at
        exit. The schema is the table's, with plain Arrow types: files written by a merge may
        hold view types (``string_view``) that other files of the same table do not.
        """
        import pyarrow.dataset as pads  # imported on use: see _read

        dt = self.delta(name)
        schema = self.schema(name)
        if "deletionVectors" in (dt.protocol().reader_features or []):
            return dt.to_pyarrow_dataset(schema=schema)
        partitioning = (
            pads.partitioning(
                pa.schema([schema.field(c) for c in dt.metadata().partition_columns]), flavor="hive"
            )
            if dt.metadata().partition_columns
            else None
        )
        files = self.snapshot_files(name) or []
        filesystem = None
        if files and storage.is_remote(self.root):
            filesystem, _ = storage.arrow_filesystem(self.root)
            files = [f.partition("://")[2] for f in files]
        return pads.dataset(
            files,
            schema=schema,
            format="parquet",
            partitioning=partitioning,
            filesystem=filesystem,
        )

    def schema(self, name: str) -> pa.Schema:
        """The table's schema with plain Arrow types (see :meth:`dataset`)."""
        return self._derive(
            name,
            "schema",
            lambda dt: plain_schema(pa.schema(dt.schema().to_arrow())),
        )

    def partition_columns(self, name: str) -> list[str]:
        """The table's partition columns."""
        return self._derive(name, "partitions", lambda dt: list(dt.metadata().partition_columns))

    def snapshot_files(self, name: str) -> list[str] | None:
        """The Parquet files of the current snapshot, or None when a plain file scan would be
        wrong (deletion vectors written by another engine)."""

        def files(dt: DeltaTable) -> list[str] | None:
            if "deletionVectors" in (dt.protocol().reader_features or []):
                return None
            return list(dt.file_uris())

        return self._derive(name, "files", files)

    @property
    def remote(self) -> bool:
        """Whether the tables are on an object store (``s3://`` ...), not the local disk."""
        return storage.is_remote(self.root)

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """The whole table (small tables: system tables, tests)."""
        if columns is None:  # read once per snapshot: a run reads the ingestion log per source
            return self._derive(name, "rows", lambda dt: self._read(name))
        return self._read(name, columns)

    def _read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        files = self.snapshot_files(name)
        if files is None or self.partition_columns(name):
            return self.dataset(name).to_table(columns=columns)
        # file by file: pyarrow.dataset (which imports pandas) would cost every run ~0.3 s
        schema = self.schema(name)
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        parts = [read_file(f, schema, self.path(name)) for f in files]
        return pa.concat_tables(parts) if parts else empty_table(schema)

    def tables(self) -> list[str]:
        """Every logical table name under the catalog."""
        if self.versions is not None:
            return sorted(self.versions)
        base = self.root / self.catalog
        names = []
        for schema_dir, table_dir in _table_dirs(base):
            if not self.mine(schema_dir):
                continue  # another target's sharing the catalog (a user's development)
            if not self._open.exists(table_dir, delta_log.has_commit):
                continue  # a first commit that failed: no table
            names.append(f"{schema_dir[len(self.schema_prefix) :]}.{table_dir.name}")
        return names

    def version(self, name: str) -> int | None:
        """Current Delta version, or None when the table does not exist yet."""
        return self.delta(name).version() if self.exists(name) else None

    def write(
        self,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        mode: Literal["append", "overwrite"] = "append",
        *,
        predicate: str | None = None,
        metadata: dict[str, Any] | None = None,
        txn: tuple[str, int] | None = None,
    ) -> None:
        """Commit ``data`` atomically; ``metadata`` and ``txn`` ride in the same commit."""
        self._writable(name)
        if delta_log.broken(self.path(name)):
            delta_log.repair(self.path(name))  # what a failed commit left (a full disk, a kill)
            self._changed(name)
        path = self.path(name)
        target: str | DeltaTable = self.delta(name) if self.exists(name) else str(path)
        props = commit_properties(metadata, txn)
        with self._committing(name), delta_log.writing(path):
            self._write(target, data, mode, predicate, props, storage.delta_options(path))

    @staticmethod
    def _write(
        target: str | DeltaTable,
        data: pa.Table | pa.RecordBatchReader,
        mode: Literal["append", "overwrite"],
        predicate: str | None,
        props: CommitProperties | None,
        options: dict[str, str] | None = None,
    ) -> None:
        # an opened table carries its own storage options and properties; a path (a table
        # created by this write) is given them
        given = options if isinstance(target, str) else None
        created = TABLE_CONFIGURATION if isinstance(target, str) else None
        if mode == "append":
            write_deltalake(
                target,
                data,
                storage_options=given,
                mode="append",
                schema_mode="merge",
                target_file_size=TARGET_FILE_BYTES,
                configuration=created,
                commit_properties=props,
            )
        else:
            write_deltalake(
                target,
                data,
                storage_options=given,
                mode="overwrite",
                predicate=predicate,
                schema_mode=None if predicate else "overwrite",
                target_file_size=TARGET_FILE_BYTES,
                configuration=created,
                commit_properties=props,
            )

    def add_files(
        self,
        name: str,
        files: list[DataFile],
        schema: pa.Schema,
        mode: Literal["append", "overwrite"],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Commit Parquet files already in the table's folder (written by Spark's executors),
        as :meth:`write` would commit ``data``: an overwrite replaces the rows and the schema."""
        self._writable(name)
        props = commit_properties(metadata, None)
        actions: list[AddAction | RemoveAction] = [
            AddAction(f.path, f.size, {}, f.modified_ms, True, f.stats) for f in files
        ]
        if not self.exists(name):
            with self._committing(name):
                create_table_with_add_actions(
                    str(self.path(name)),
                    Schema.from_arrow(schema),
                    [a for a in actions if isinstance(a, AddAction)],
                    mode="error",
                    configuration=TABLE_CONFIGURATION,
                    commit_properties=props,
                    storage_options=storage.delta_options(self.path(name)),
                )
            return
        table = self.delta(name)
        with self._committing(name):
            table.create_write_transaction(actions, mode, schema, commit_properties=props)

    def merge(
        self,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        keys: list[str],
        *,
        metadata: dict[str, Any] | None = None,
        txn: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """Upsert ``data`` on ``keys``: matched rows are replaced, others inserted.

        A boolean ``DELETE_FLAG`` column in ``data``, when present, marks rows whose key is to
        be deleted instead; it is not stored.
        """
        self._writable(name)
        names = data.schema.names
        flagged = DELETE_FLAG in names
        if not self.exists(name):
            table = data.read_all() if isinstance(data, pa.RecordBatchReader) else data
            if flagged:
                table = table.filter(pc.invert(table.column(DELETE_FLAG))).drop_columns(
                    [DELETE_FLAG]
                )
            self.write(name, table, metadata=metadata, txn=txn)
            return {"num_target_rows_inserted": table.num_rows, "num_target_rows_updated": 0}
        predicate = join_on(keys, "t", "s")
        table = self.delta(name)
        # a materialised source lets delta-rs skip target files outside the source keys' range
        # (min/max of each key); a merge's source is one increment, small next to its target
        source = data.read_all() if isinstance(data, pa.RecordBatchReader) else data
        merger = table.merge(
            source,
            predicate=predicate,
            streamed_exec=False,
            source_alias="s",
            target_alias="t",
            commit_properties=commit_properties(metadata, txn),
        )
        if flagged:
            columns = {c: column(c, "s") for c in names if c != DELETE_FLAG}
            flag = column(DELETE_FLAG, "s")
            merger = (
                merger.when_matched_delete(predicate=flag)
                .when_matched_update(updates=columns)
                .when_not_matched_insert(updates=columns, predicate=f"NOT {flag}")
            )
        else:
            merger = merger.when_matched_update_all().when_not_matched_insert_all()
        with self._committing(name):
            result: dict[str, Any] = merger.execute()
        return result

    def delete(self, name: str, predicate: str) -> int:
        """Delete the rows matching ``predicate`` (no commit when none match); returns rows."""
        self._writable(name)
        if not self.exists(name):
            return 0
        table = self.delta(name)
        with self._committing(name):
            metrics = table.delete(predicate)
        return int(metrics.get("num_deleted_rows", 0) or 0)

    def last_commit(self, name: str) -> dict[str, Any]:
        """The latest commit's information (its custom metadata included); empty when none."""
        if not self.exists(name):
            return {}
        return dict(self._derive(name, "last_commit", lambda dt: (dt.history(1) or [{}])[0]))

    def latest_batch(self, name: str) -> int | None:
        """The highest ``_batch_id`` in the table, from its files' statistics (-1 when it has no
        rows); None when the log cannot tell (a file without that statistic): read the data."""
        if not self.exists(name):
            return None
        return self._derive(name, "latest_batch", _latest_batch)

    def forget(self, name: str) -> None:
        """Forget what was derived from ``name`` after this process committed to it other
        than through the lakehouse (Delta Lake for Spark, maintenance); the next use reads
        its log again."""
        self._changed(name)

    def forget_all(self) -> None:
        """Forget every opened table (its files were replaced underneath, by a restore)."""
        self._open.clear()

    def sole_writer(self) -> contextlib.AbstractContextManager[None]:
        """For the block this process is the only writer (it holds the writer lock): opened
        tables are not looked at again until it commits to them (see :mod:`.open_tables`)."""
        return self._open.sole_writer()

    def watermarks(self, name: str) -> dict[str, int]:
        """Upstream batch watermarks recorded with the table's latest lakeshop commit.

        Maintenance commits (compaction, checkpoints) carry none, so the history is searched
        back to the newest commit that does.
        """
        if not self.exists(name):
            return {}
        return dict(self._derive(name, "watermarks", watermarks_of))


def _latest_batch(dt: DeltaTable) -> int | None:
    actions = arrow_stream(dt.get_add_actions(flatten=True))
    column = f"max.{BATCH_COLUMN}"
    if column not in actions.column_names:
        return None if actions.num_rows else -1
    highest = actions.column(column)
    # sign, not `> 0`: a Python scalar operand makes pyarrow import pandas (0.3 s of a no-op run)
    with_rows = pc.cast(pc.sign(actions.column("num_records")), pa.bool_())
    if pc.any(pc.and_(with_rows, pc.is_null(highest))).as_py():
        return None
    value = pc.max(highest).as_py()
    return -1 if value is None else int(value)


def _table_dirs(base: Path) -> list[tuple[str, Path]]:
    """``(schema folder, table folder)`` of every folder two levels under ``base`` (a table
    when its log holds a commit: one listing each, also on an object store)."""
    out = []
    for schema, size, _ in sorted(storage.entries(base)):
        if size != -1 or schema.startswith("."):
            continue
        for table, tsize, _ in sorted(storage.entries(base / schema)):
            if tsize == -1:
                out.append((schema, base / schema / table))
    return out


def split_name(name: str) -> tuple[str, str]:
    """``"silver.orders"`` → ``("silver", "orders")``; anything else is an error."""
    parts = name.split(".")
    if len(parts) != 2 or not all(parts):
        raise TableNotFound(name)
    return parts[0], parts[1]

"""Where tables live: logical ``schema.table`` names mapped onto Delta tables under one root."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

from lakeshop.errors import TableNotFound

WATERMARK_KEY = "lakeshop.watermarks"
#: in data given to :meth:`Lakehouse.merge`: TRUE marks a key to delete
DELETE_FLAG = "_delete"


@dataclass(frozen=True)
class Lakehouse:
    """A storage root holding Delta tables at ``<root>/<catalog>/<prefix><schema>/<table>``."""

    root: Path
    catalog: str = "lakeshop"
    schema_prefix: str = ""

    def path(self, name: str) -> Path:
        """Physical location of the logical table ``schema.table``."""
        schema, table = split_name(name)
        return self.root / self.catalog / f"{self.schema_prefix}{schema}" / table

    @property
    def raw_dir(self) -> Path:
        """Immutable raw copies of ingested files, by source and ingestion date."""
        return self.root / self.catalog / "_raw"

    def exists(self, name: str) -> bool:
        """Whether the Delta table has at least one commit."""
        return (self.path(name) / "_delta_log").is_dir()

    def delta(self, name: str, version: int | None = None) -> DeltaTable:
        """Open the Delta table, raising :class:`TableNotFound` with the known names."""
        try:
            return DeltaTable(str(self.path(name)), version=version)
        except TableNotFoundError as exc:
            raise TableNotFound(name, self.tables()) from exc

    def dataset(self, name: str) -> pads.Dataset:
        """A snapshot of the table as an Arrow dataset over its Parquet files.

        Arrow's own file system reads the files (the Delta log gives the list): Arrow reader
        threads calling back into deltalake's file system have aborted the interpreter at
        exit. The schema is the table's, with plain Arrow types: files written by a merge may
        hold view types (``string_view``) that other files of the same table do not.
        """
        dt = self.delta(name)
        schema = pa.schema(
            [pa.field(f.name, _plain(f.type)) for f in pa.schema(dt.schema().to_arrow())]
        )
        if "deletionVectors" in (dt.protocol().reader_features or []):
            return dt.to_pyarrow_dataset(schema=schema)
        partitioning = (
            pads.partitioning(
                pa.schema([schema.field(c) for c in dt.metadata().partition_columns]), flavor="hive"
            )
            if dt.metadata().partition_columns
            else None
        )
        return pads.dataset(
            dt.file_uris(), schema=schema, format="parquet", partitioning=partitioning
        )

    def snapshot_files(self, name: str) -> list[str] | None:
        """The Parquet files of the current snapshot, or None when a plain file scan would be
        wrong (deletion vectors written by another engine)."""
        dt = self.delta(name)
        if "deletionVectors" in (dt.protocol().reader_features or []):
            return None
        return list(dt.file_uris())

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """The whole table (small tables: system tables, tests)."""
        return self.dataset(name).to_table(columns=columns)

    def tables(self) -> list[str]:
        """Every logical table name under the catalog."""
        base = self.root / self.catalog
        if not base.is_dir():
            return []
        names = []
        for log in sorted(base.glob("*/*/_delta_log")):
            schema = log.parent.parent.name
            if self.schema_prefix and schema.startswith(self.schema_prefix):
                schema = schema[len(self.schema_prefix) :]
            names.append(f"{schema}.{log.parent.name}")
        return names

    def version(self, name: str) -> int | None:
        """Current Delta version, or None when the table does not exist yet."""
        return self.delta(name).version() if self.exists(name) else None

    def write(
        self,
        name: str,
        data: pa.Table,
        mode: Literal["append", "overwrite"] = "append",
        *,
        predicate: str | None = None,
        metadata: dict[str, Any] | None = None,
        txn: tuple[str, int] | None = None,
    ) -> None:
        """Commit ``data`` atomically; ``metadata`` and ``txn`` ride in the same commit."""
        target = str(self.path(name))
        props = _commit_properties(metadata, txn)
        if mode == "append":
            write_deltalake(
                target,
                data,
                mode="append",
                schema_mode="merge",
                commit_properties=props,
            )
        else:
            write_deltalake(
                target,
                data,
                mode="overwrite",
                predicate=predicate,
                schema_mode=None if predicate else "overwrite",
                commit_properties=props,
            )

    def merge(
        self,
        name: str,
        data: pa.Table,
        keys: list[str],
        *,
        metadata: dict[str, Any] | None = None,
        txn: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """Upsert ``data`` on ``keys``: matched rows are replaced, others inserted.

        A boolean ``DELETE_FLAG`` column in ``data``, when present, marks rows whose key is to
        be deleted instead; it is not stored.
        """
        flagged = DELETE_FLAG in data.column_names
        if not self.exists(name):
            if flagged:
                data = data.filter(pc.invert(data.column(DELETE_FLAG))).drop_columns([DELETE_FLAG])
            self.write(name, data, metadata=metadata, txn=txn)
            return {"num_target_rows_inserted": data.num_rows, "num_target_rows_updated": 0}
        predicate = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        merger = self.delta(name).merge(
            data,
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            commit_properties=_commit_properties(metadata, txn),
        )
        if flagged:
            columns = {c: f's."{c}"' for c in data.column_names if c != DELETE_FLAG}
            merger = (
                merger.when_matched_delete(predicate=f's."{DELETE_FLAG}"')
                .when_matched_update(updates=columns)
                .when_not_matched_insert(updates=columns, predicate=f'NOT s."{DELETE_FLAG}"')
            )
        else:
            merger = merger.when_matched_update_all().when_not_matched_insert_all()
        result: dict[str, Any] = merger.execute()
        return result

    def delete(self, name: str, predicate: str) -> int:
        """Delete the rows matching ``predicate`` (no commit when none match); returns rows."""
        if not self.exists(name):
            return 0
        metrics = self.delta(name).delete(predicate)
        return int(metrics.get("num_deleted_rows", 0) or 0)

    def watermarks(self, name: str) -> dict[str, int]:
        """Upstream batch watermarks recorded with the table's latest lakeshop commit.

        Maintenance commits (compaction, checkpoints) carry none, so the history is searched
        back to the newest commit that does.
        """
        if not self.exists(name):
            return {}
        for commit in self.delta(name).history():
            if WATERMARK_KEY in commit:
                return {k: int(v) for k, v in json.loads(commit[WATERMARK_KEY]).items()}
        return {}


def split_name(name: str) -> tuple[str, str]:
    """``"silver.orders"`` → ``("silver", "orders")``; anything else is an error."""
    parts = name.split(".")
    if len(parts) != 2 or not all(parts):
        raise TableNotFound(name)
    return parts[0], parts[1]


def _commit_properties(
    metadata: dict[str, Any] | None, txn: tuple[str, int] | None
) -> CommitProperties:
    custom = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    txns = [Transaction(app_id=txn[0], version=txn[1])] if txn else None
    return CommitProperties(custom_metadata=custom or None, app_transactions=txns)


def _plain(t: pa.DataType) -> pa.DataType:
    """The non-view, non-large variant of an Arrow type."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(_plain(t.value_type))
    return t

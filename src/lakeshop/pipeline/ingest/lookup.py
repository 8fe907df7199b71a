"""``lookup:``: reference columns joined onto a source's rows by key, before mapping.

One SQL join over Arrow tables in the engine, no Python per row:

- the reference rows are every file matching the lookup's ``path`` under the landing folder
  when the source's file is ingested, read with the lookup's format (columns missing from some
  of them read as NULL); a key found several times takes the last row of the last file (name
  order), a key not found gives NULL;
- each file read is kept as a raw copy (``_raw/_lookup/<source>/<sha256 prefix>_<name>``,
  by content) and named in the ingested file's ``_system.files`` entry (``lookups``), so that a
  full refresh or a replay joins the same reference rows: a file's looked-up values are those
  of its delivery, and a full refresh equals the incremental runs that delivered the files.
  A lookup file changed later changes the rows of files ingested after it, not earlier ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakeshop.core.errors import SourceFileError
from lakeshop.core.sqltext import ident
from lakeshop.engines import storage
from lakeshop.engines.files import ParsedFile, parse_csv, parse_parquet
from lakeshop.pipeline.context import RunContext
from lakeshop.pipeline.jail import copy_private, resolved
from lakeshop.pipeline.sources import Lookup, Source

#: the folder under ``_raw`` holding the lookup files' copies (no source has this name)
LOOKUP_DIR = "_lookup"
#: the order of a reference row among the others of its key (the last one wins)
_FILE_NO, _ROW = "_lookup_file", "_source_row"


@dataclass
class Joined:
    """A file's relation with its looked-up columns: the SQL to select from, the names added,
    and the reference files used (``_system.files.lookups``)."""

    relation: str
    names: list[str] = field(default_factory=list)
    used: dict[str, Any] = field(default_factory=dict)

    @property
    def recorded(self) -> str | None:
        return json.dumps(self.used, sort_keys=True) if self.used else None


class Lookups:
    """The lookups of one source in one run: reference files copied and read once each."""

    def __init__(self, ctx: RunContext, source: Source) -> None:
        self.ctx = ctx
        self.source = source
        self._copies: dict[tuple[str, int, int], str] = {}
        self._tables: dict[tuple[str, tuple[str, ...]], str] = {}

    def join(self, rows: str, columns: list[str], recorded: str, path: str) -> Joined:
        """``rows`` (a registered relation with the file's ``columns``) with every lookup's
        columns joined; ``recorded`` is the file's earlier ``lookups`` entry (a replay)."""
        if not self.source.lookup:
            return Joined(rows)
        earlier = json.loads(recorded) if recorded else {}
        clash = sorted(set(self.source.looked_up()) & set(columns))
        if clash:
            raise SourceFileError(
                path,
                f"column '{clash[0]}' is both in the file and given by "
                f"sources.{self.source.name}.lookup: rename the looked-up column",
            )
        selected = ["f.*"]
        joins = []
        used: dict[str, Any] = {}
        for i, (name, lk) in enumerate(self.source.lookup.items()):
            given = earlier.get(name)
            if isinstance(given, dict) and given.get("path") == lk.path:
                files = [str(f) for f in given.get("files", [])]
            else:
                files = [self._copy(name, p) for p in lk.files(self.ctx.landing)]
            used[name] = {"path": lk.path, "files": files}
            missing = sorted(set(lk.on) - set(columns))
            if missing:
                raise SourceFileError(
                    path,
                    f"missing column(s) {', '.join(missing)} of "
                    f"sources.{self.source.name}.lookup.{name}.on",
                )
            table = self._table(name, lk, tuple(files), path)
            alias = f"l{i}"
            keys = list(lk.on.values())
            part = ", ".join(ident(k) for k in keys)
            picked = [f"{ident(k)} AS {ident(f'_k{j}')}" for j, k in enumerate(keys)] + [
                f"{ident(col)} AS {ident(new)}" for new, col in lk.columns.items()
            ]
            ranked = (
                f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {part} "
                f"ORDER BY {ident(_FILE_NO)} DESC, {ident(_ROW)} DESC) AS {ident('_rank')} "
                f"FROM {ident(table)}"
            )
            on = " AND ".join(
                f"f.{ident(mine)} = {alias}.{ident(f'_k{j}')}" for j, mine in enumerate(lk.on)
            )
            joins.append(
                f"LEFT JOIN (SELECT {', '.join(picked)} FROM ({ranked}) AS r "
                f"WHERE {ident('_rank')} = 1) AS {alias} ON {on}"
            )
            selected += [f"{alias}.{ident(new)}" for new in lk.columns]
        relation = f"(SELECT {', '.join(selected)} FROM {rows} AS f {' '.join(joins)})"
        return Joined(relation, self.source.looked_up(), used)

    def _copy(self, name: str, path: Path) -> str:
        """The raw copy of a lookup file (by content: copied once), relative to the root."""
        path = resolved(path)  # inside the landing folder (Lookup.files): read by its real path
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._copies:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            root = self.ctx.lakehouse.root
            dest = (
                self.ctx.lakehouse.raw_dir
                / LOOKUP_DIR
                / self.source.name
                / f"{digest.hexdigest()[:16]}_{path.name}"
            )
            if not dest.exists():
                copy_private(path, dest)
            self._copies[key] = dest.relative_to(root).as_posix()
        return self._copies[key]

    def _table(self, name: str, lk: Lookup, files: tuple[str, ...], path: str) -> str:
        """The reference rows of ``files`` registered in the engine (once per run)."""
        key = (name, files)
        if key in self._tables:
            return self._tables[key]
        parts = []
        for no, rel in enumerate(files):
            full = self.ctx.lakehouse.root / rel
            try:
                with storage.local_copy(full) as local:
                    parsed = _parse(local, lk)
            except SourceFileError as exc:
                raise SourceFileError(
                    path, f"lookup '{name}' file {full.name}: {exc.reason}"
                ) from exc
            rows = parsed.rows
            parts.append(rows.append_column(_FILE_NO, pa.array([no] * rows.num_rows, pa.int64())))
        needed = list(dict.fromkeys([*lk.on.values(), *lk.columns.values()]))
        empty = pa.schema(
            [(c, pa.string()) for c in needed] + [(_ROW, pa.int64()), (_FILE_NO, pa.int64())]
        ).empty_table()
        data = pa.concat_tables([empty, *parts], promote_options="default")
        if parts:
            absent = [c for c in needed if not any(c in p.column_names for p in parts)]
            if absent:
                raise SourceFileError(
                    path,
                    f"lookup '{name}': no file matching {lk.path} has column(s) "
                    f"{', '.join(absent)} (sources.{self.source.name}.lookup.{name})",
                )
        registered = f"_lookup_{self.source.name}_{len(self._tables)}"
        self.ctx.engine.register(registered, data.select([*needed, _ROW, _FILE_NO]))
        self._tables[key] = registered
        return registered


def _parse(path: Path, lk: Lookup) -> ParsedFile:
    opts = lk.options
    if lk.format == "parquet":
        return parse_parquet(path)
    return parse_csv(path, opts.csv())

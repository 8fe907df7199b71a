"""The embedded engine: DuckDB executes, Delta tables are read as Arrow datasets."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lakeshop.core import sqltext
from lakeshop.core.errors import LakeshopError, QueryRefused, SourceFileError, first_line
from lakeshop.core.redact import Q, shown, without_values
from lakeshop.core.sqltext import Fragment, ident, literal
from lakeshop.engines import registry
from lakeshop.engines.arrow_rows import empty_table
from lakeshop.engines.base import Engine, WriteMode
from lakeshop.engines.files import REJECTS_SCHEMA, ParsedFile, decode, read_bytes_checked
from lakeshop.engines.lakehouse import Lakehouse, split_name

if TYPE_CHECKING:
    import pyarrow.dataset as pads

#: rows per Arrow batch streamed from DuckDB into a Delta write
BATCH_ROWS = 1 << 17


class DuckDBEngine(Engine):
    """One in-memory DuckDB connection per run; tables are bound as views over Delta snapshots."""

    capabilities = registry.capabilities("duckdb")

    def __init__(
        self,
        lakehouse: Lakehouse,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        super().__init__(lakehouse)
        # large joins, sorts and aggregates spill here past the memory limit instead of failing
        if temp_directory is not None:
            temp_directory.mkdir(parents=True, exist_ok=True)
        self._spill: str | None = tempfile.mkdtemp(prefix="lakeshop-duckdb-", dir=temp_directory)
        config: dict[str, Any] = {"preserve_insertion_order": True, "temp_directory": self._spill}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = _percent_of_ram(memory_limit)
        self.con = duckdb.connect(":memory:", config=config)
        # the pipeline's SQL types timestamps (offsets, source time zones, DST) and keys with these
        self._run(_sql("utc_timestamp"))
        self._run(_sql("key"))
        self._schemas: set[str] = set()
        #: the Arrow data registered by bind_table (empty tables, deletion vectors)
        self._snapshots: dict[str, pa.Table | pads.Dataset] = {}
        self._reads_only = False
        #: what each view made by bind_table reads (its statement): binding reads the Parquet
        #: footers of every file, and each downstream table of a run binds its upstreams again
        self._bound: dict[str, str] = {}

    def _ensure_schema(self, name: str) -> str:
        schema, table = split_name(name)
        if schema not in self._schemas:
            self._run(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
            self._schemas.add(schema)
        return sqltext.table(schema, table)

    def bind_table(
        self, name: str, where: str | None = None, *, as_name: str | None = None
    ) -> None:
        """Bind a snapshot: DuckDB scans the snapshot's Parquet files natively.

        The file list comes from the Delta log (``deltalake``); tables with deletion vectors
        (written by other engines) are read through an Arrow dataset instead.
        """
        qualified = self._ensure_schema(as_name or name)
        filter_sql = f" WHERE {where}" if where else ""
        files = self.lakehouse.snapshot_files(name)
        columns = sqltext.columns(self.lakehouse.schema(name).names)
        if files and not self.lakehouse.remote:
            hive = ", hive_partitioning = true" if self.lakehouse.partition_columns(name) else ""
            source = f"read_parquet({literal(files)}, union_by_name = true{hive})"
        else:
            source = "__delta_" + re.sub(r"\W", "_", name)
            # no data file: no need of an Arrow dataset (an object store's files are read
            # through one: DuckDB's own reader would need its httpfs extension)
            empty = files is not None and not files
            data = empty_table(self.lakehouse.schema(name)) if empty else None
            snapshot = data if data is not None else self.lakehouse.dataset(name)
            self.con.register(source, snapshot)
            self._snapshots[source] = snapshot  # the connection's own: cursors register it too
        statement = (
            f"CREATE OR REPLACE VIEW {qualified} AS SELECT {columns} FROM {source}{filter_sql}"
        )
        # the same files (immutable), columns and filter: the view already reads that snapshot
        if files and self._bound.get(qualified) == statement:
            return
        self._bound.pop(qualified, None)
        self._run(statement)
        if files:
            self._bound[qualified] = statement

    def bind_view(self, name: str, sql: str) -> None:
        qualified = self._ensure_schema(name) if "." in name else ident(name)
        self._bound.pop(qualified, None)
        self._run(f"CREATE OR REPLACE VIEW {qualified} AS {sql}")

    def register(self, name: str, data: pa.Table) -> None:
        self.con.register(name, data)

    def stage(self, name: str, sql: str) -> int:
        self._run(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS {sql}")
        return int(self._run(f"SELECT count(*) FROM {ident(name)}")[0][0])

    def stage_view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS {sql}")

    def restrict_to_reading(self) -> None:
        """DuckDB's own guards, set once the connection is open and before any query.

        Files: only under the schema folders of the lakehouse's tables (where the Parquet
        files of the bound snapshots are; not the raw copies). No extension is installed or
        loaded, no other database attached. The configuration is locked last, so that no SET
        can undo the rest. And :meth:`fetch` runs one SELECT only, as DuckDB parses it.
        """
        # (an object store's tables are bound as Arrow datasets: no file of theirs is opened
        # by DuckDB itself)
        folders = (
            []
            if self.lakehouse.remote
            else sorted({f"{self.lakehouse.path(n).parent}/" for n in self.lakehouse.tables()})
        )
        for setting in (
            f"allowed_directories = {literal(folders)}",
            "enable_external_access = false",
            "autoinstall_known_extensions = false",
            "autoload_known_extensions = false",
            "lock_configuration = true",
        ):
            self._run(f"SET {setting}")
        self._reads_only = True

    def interrupt(self) -> None:
        self.con.interrupt()

    def cursor(self) -> DuckDBEngine:
        """Another connection to this engine's database (DuckDB's ``cursor()``): it sees the
        tables and views bound on the engine, now and later, under its restrictions; one
        thread's, closed after use (the engine and its spill folder stay)."""
        twin = object.__new__(DuckDBEngine)
        Engine.__init__(twin, self.lakehouse)
        twin.con = self.con.cursor()
        twin._spill = None
        twin._schemas = set(self._schemas)
        twin._reads_only = self._reads_only
        twin._snapshots = dict(self._snapshots)
        for name, data in self._snapshots.items():
            twin.con.register(name, data)
        return twin

    def fetch(self, sql: str) -> pa.Table:
        if self._reads_only:
            self._one_select(sql)
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise LakeshopError(first_line(exc)) from exc

    def _one_select(self, sql: str) -> None:
        """Refuse ``sql`` unless DuckDB's parser reads one SELECT in it (whatever the checks
        made before with another parser found)."""
        try:
            kinds = [s.type.name for s in self.con.extract_statements(sql)]
        except duckdb.Error as exc:
            raise LakeshopError(first_line(exc)) from exc
        if kinds != ["SELECT"]:
            raise QueryRefused(f"DuckDB reads {len(kinds)} statement(s) here ({', '.join(kinds)})")

    def write(
        self,
        table: str,
        relation: str,
        mode: WriteMode,
        *,
        keys: list[str] | None = None,
        predicate: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        if mode == "merge" and not keys:
            raise LakeshopError(f"table {table}: merge needs key columns")
        # streamed in batches: the rows are never all in Python's memory at once, and a view
        # is computed once (the rows are counted as they pass)
        try:
            reader = self.con.sql(f"SELECT * FROM {ident(relation)}").to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            raise LakeshopError(first_line(exc)) from exc
        rows = [0]

        def counted() -> Iterator[pa.RecordBatch]:
            try:
                for batch in reader:
                    rows[0] += batch.num_rows
                    yield batch
            except duckdb.Error as exc:
                raise LakeshopError(first_line(exc)) from exc

        data = pa.RecordBatchReader.from_batches(reader.schema, counted())
        if mode == "merge":
            self.lakehouse.merge(table, data, keys or [], metadata=metadata)
        else:
            self.lakehouse.write(table, data, mode, predicate=predicate, metadata=metadata)
        return rows[0]

    def parse_jsonl(self, path: str, encoding: str = "utf-8") -> ParsedFile:
        """One JSON object per line; keys become text columns (the union over all lines).

        ``_source_row`` is the physical line number; blank lines are skipped. A line that is
        not JSON is rejected as ``malformed JSON``, valid JSON that is not an object as
        ``not a JSON object``. Missing keys are NULL; nested values are kept as JSON text.
        """
        file = Path(path)
        try:
            lines = 0
            if _plain_utf8(file, encoding):
                # not UTF-8 or unreadable: decoded again below, in Python, to name the fault
                with contextlib.suppress(LakeshopError):
                    lines = self._stage_jsonl(_read_text(file))
            if not lines:
                # gzip, other encodings, and what DuckDB does not take as is (see _read_text):
                # Python decodes, raising on binary, empty or undecodable content
                text = decode(file, read_bytes_checked(file, encoding), encoding)
                self.con.register("__jsonl_text", pa.table({"content": _large_text(text)}))
                del text  # Arrow holds the only copy now
                try:
                    lines = self._stage_jsonl(Fragment("__jsonl_text"))
                finally:
                    self.con.unregister("__jsonl_text")
            if not lines:
                raise SourceFileError(path, "no records")
            keys, good, bad = self._split_jsonl(path)
        except SourceFileError:
            raise
        except LakeshopError as exc:  # the engine failed on this content: the file is at fault
            raise SourceFileError(
                path, f"unreadable JSON lines: {without_values(str(exc))}"
            ) from exc
        finally:
            self._run("DROP TABLE IF EXISTS __jsonl")
        text_schema = pa.schema([(k, pa.string()) for k in keys] + [("_source_row", pa.int64())])
        return ParsedFile(
            rows=good.cast(text_schema), rejects=bad.cast(REJECTS_SCHEMA), columns=keys
        )

    def _stage_jsonl(self, source: Fragment) -> int:
        """Stage the lines of ``source`` (one row, column ``content``) as ``__jsonl``; how many."""
        sql = _sql("jsonl_lines", source=source)
        (count,) = self._run(f"CREATE OR REPLACE TEMP TABLE __jsonl AS {sql}")[0]
        return int(count)

    def _split_jsonl(self, path: str) -> tuple[list[str], pa.Table, pa.Table]:
        """Keys, object rows and rejected lines of the staged ``__jsonl``."""
        self._run(_sql("jsonl_duplicate_keys"))
        keys = _jsonl_keys(path, self._run(_sql("jsonl_keys")))
        # JSON pointers (RFC 6901) address any key; positional aliases, renamed in Arrow
        paths = [_json_pointer(k) for k in keys]
        columns = Fragment("".join(f"v[{i + 1}] AS c{i}, " for i in range(len(keys))))
        numbers = [_number_after(k) for k in keys]
        good = self.fetch(
            _sql("jsonl_rows", columns=columns, paths=paths, numbers=numbers)
        ).rename_columns([*keys, "_source_row"])
        return keys, good, self.fetch(_sql("jsonl_rejects"))

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)

    def _run(self, sql: str) -> list[Any]:
        """Execute a statement and consume its result (DuckDB keeps it pending otherwise)."""
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise LakeshopError(first_line(exc)) from exc


def _percent_of_ram(limit: str) -> str:
    """DuckDB takes sizes; a percentage is turned into one (of the machine's memory)."""
    text = limit.strip()
    if not text.endswith("%"):
        return text
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * float(text[:-1]) / 100) >> 20}MB"


@cache
def _template(name: str) -> sqltext.Template:
    return sqltext.load(Path(__file__).parent / "sql" / f"{name}.sql")


def _sql(name: str, **params: sqltext.Param) -> str:
    """The statement of ``engines/duckdb/sql/<name>.sql`` with its ``$`` parameters."""
    return _template(name).render(params)


def _plain_utf8(path: Path, encoding: str) -> bool:
    """Whether DuckDB's ``read_text`` can read the file itself: UTF-8, not gzipped, and a
    name without characters that ``read_text`` would take for a glob pattern."""
    if path.name.lower().endswith(".gz") or any(c in str(path) for c in "*?[]{}\\"):
        return False
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _read_text(path: Path) -> Fragment:
    """The text of one file as DuckDB reads it, by its absolute path (never a URL or a
    home-relative one); nothing when it holds a NUL character, for Python to decide whether
    the file is binary. A missing file reads as nothing too; one not in UTF-8 raises."""
    named = literal(str(path.absolute()))
    return Fragment(f"(SELECT content FROM read_text({named}) WHERE NOT contains(content, chr(0)))")


def _large_text(text: str) -> pa.Array:
    """One text as an Arrow array (large offsets: a file may hold more than 2 GiB)."""
    return pa.array([text], pa.large_string())


def _json_pointer(key: str) -> str:
    """A JSON pointer to a top-level key."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


#: what follows a key's name in a JSON object when its value is a number: the number, captured
_NUMBER_VALUE = r"\s*:\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"


def _number_after(key: str) -> str:
    """A pattern (RE2) capturing the JSON number written after the top-level key ``key``."""
    return re.escape(json.dumps(key, ensure_ascii=False)) + _NUMBER_VALUE


def _jsonl_keys(path: str, found: list[Any]) -> list[str]:
    """The keys as column names: non-empty, unique ignoring case, not ``_source_row``."""
    seen: dict[str, tuple[str, int]] = {}
    for key, line in found:
        if key == "" or key == "_source_row":
            what = "an empty key" if key == "" else "the reserved key '_source_row'"
            raise SourceFileError(path, f"line {line} has {what}")
        if key.lower() in seen:
            other, first = seen[key.lower()]
            raise SourceFileError(
                path,
                f"keys {shown([other], Q)} (line {first}) and {shown([key], Q)} (line {line}) "
                "differ only in case",
            )
        seen[key.lower()] = (key, line)
    return [key for key, _ in found]

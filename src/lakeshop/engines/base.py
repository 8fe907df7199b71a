"""The engine contract: the few operations the pipeline needs from an execution engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal, Self

import pyarrow as pa

from lakeshop.core.errors import LakeshopError
from lakeshop.engines.capabilities import Capabilities as Capabilities
from lakeshop.engines.files import CsvOptions, ParsedFile, parse_file
from lakeshop.engines.lakehouse import Lakehouse

WriteMode = Literal["append", "overwrite", "merge"]


class Engine(ABC):
    """Runs DuckDB-dialect SQL over logical ``schema.table`` names backed by Delta tables."""

    capabilities: Capabilities

    def __init__(self, lakehouse: Lakehouse) -> None:
        self.lakehouse = lakehouse

    @abstractmethod
    def bind_table(
        self, name: str, where: str | None = None, *, as_name: str | None = None
    ) -> None:
        """Make the Delta table ``name`` queryable by that name (a snapshot), optionally
        filtered; under ``as_name`` (``schema.table``) instead when given."""

    @abstractmethod
    def bind_view(self, name: str, sql: str) -> None:
        """Make ``name`` a view over ``sql``."""

    @abstractmethod
    def register(self, name: str, data: pa.Table) -> None:
        """Make an Arrow table queryable under ``name``."""

    @abstractmethod
    def stage(self, name: str, sql: str) -> int:
        """Materialise ``sql`` as the temporary relation ``name``; returns its row count."""

    @abstractmethod
    def stage_view(self, name: str, sql: str) -> None:
        """Make the temporary relation ``name`` a view over ``sql``, computed where it is read.

        For a step read once: it costs no copy, where :meth:`stage` materialises the rows.
        """

    @abstractmethod
    def fetch(self, sql: str) -> pa.Table:
        """Run a query and return its result as Arrow."""

    @abstractmethod
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
        """Commit the rows of temporary ``relation`` (staged or a staged view) to Delta table
        ``table``; returns rows. The relation is computed once."""

    @abstractmethod
    def parse_jsonl(self, path: str, encoding: str = "utf-8") -> ParsedFile:
        """Split a JSON-lines file into records (every key a text column) and rejected lines."""

    def parse(self, path: Path, format: str, options: CsvOptions) -> ParsedFile:
        """A landing file parsed (see :func:`lakeshop.engines.files.parse_file`); this default
        parses it here, now."""
        return parse_file(path, format, options, self.parse_jsonl)

    def parse_ahead(self, paths: list[Path], format: str, options: CsvOptions) -> None:
        """These files are parsed next, in this order: an engine may parse them all at once,
        elsewhere (Spark's executors), for :meth:`parse` to hand out. This default does
        nothing: each is parsed when asked."""
        return None

    def register_parsed(self, name: str, parsed: ParsedFile) -> None:
        """Make a parsed file's rows queryable under ``name`` (as :meth:`register`)."""
        self.register(name, parsed.rows)

    def restrict_to_reading(self) -> None:
        """From now on, only read lakehouse tables: the engine's SQL can no longer reach other
        files, extensions or settings. Cannot be undone; for the engines of read-only queries.

        This default does nothing: such an engine relies on the statement check of
        :mod:`lakeshop.app.sandbox` alone, which every read-only query passes first.
        """
        return None

    def interrupt(self) -> None:
        """Stop the query running now, from another thread (a reader's timeout); it fails.

        This default does nothing: the query runs to its end.
        """
        return None

    def cursor(self) -> Engine:
        """Another connection to this engine's tables and views, for one thread, closed after
        use while the engine stays open (a server's readers share one bound engine).

        This default refuses: the engine cannot share what it has bound.
        """
        raise LakeshopError(f"the {self.capabilities.name} engine cannot share its connection")

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

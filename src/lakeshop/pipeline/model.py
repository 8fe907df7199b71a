"""Table declarations: what a table is, how it is kept up to date, and what it must satisfy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Kind(StrEnum):
    """How a table is maintained (semantics of Lakeflow / SQLMesh / dbt kinds)."""

    INGEST = "ingest"
    APPEND = "append"
    UPSERT = "upsert"
    SCD2 = "scd2"
    MATERIALIZED = "materialized"
    VIEW = "view"


class Action(StrEnum):
    """What a violated expectation does to the row or the table."""

    WARN = "warn"
    DROP = "drop"
    FAIL = "fail"


@dataclass(frozen=True)
class Expectation:
    """A named SQL boolean predicate over the table's rows; NULL counts as a violation.

    ``retry`` marks a violation a later run may resolve (a parent row that has not arrived
    yet): a row whose only violations are such is held in quarantine and evaluated again on
    every run, until it passes.
    """

    name: str
    predicate: str
    action: Action = Action.DROP
    retry: bool = False
    #: where it is declared (``models/x.yml:12``) when a project declares it: errors name it
    origin: str = ""


@dataclass(frozen=True)
class Table:
    """A declared table: a logical name, a kind, its SQL (DuckDB dialect) and expectations.

    ``keys`` identify a row (upsert, append dedup); ``sequence`` orders versions of a key
    (latest wins); ``source`` names the landing source of an ``ingest`` table.

    A ``materialized`` table with ``incremental_by`` (one output column) recomputes only the
    values of that column touched by upstream changes: ``touched`` maps each upstream to a
    query returning those values, in which the upstream's name stands for its changed rows
    only. An upstream change not covered by ``touched`` makes the run a full recompute.
    ``scope`` maps an upstream to an expression over its columns giving the ``incremental_by``
    value each of its rows feeds (and no other): a partial recompute reads only its rows of
    touched values, so its cost follows the change, not the history. An
    ``scd2`` table's SQL returns every version of its ``keys`` ordered by ``sequence``; the
    strategy adds ``surrogate_key``, ``valid_from``, ``valid_to``, ``is_current``.
    """

    name: str
    kind: Kind
    sql: str = ""
    sql_file: Path | None = None
    expectations: tuple[Expectation, ...] = ()
    keys: tuple[str, ...] = ()
    sequence: str | None = None
    source: str | None = None
    description: str = ""
    incremental_by: str | None = None
    touched: Mapping[str, str] = field(default_factory=dict)
    scope: Mapping[str, str] = field(default_factory=dict)
    surrogate_key: str | None = None
    #: who answers for the table (a project model's ``owner``)
    owner: str = ""
    #: descriptions of its columns
    column_docs: Mapping[str, str] = field(default_factory=dict)
    #: where a project declares it (``models/x.sql``); empty for lakeshop's own tables
    origin: str = ""
    #: a project table that takes the place of lakeshop's own table of the same name
    replaces_builtin: bool = False
    #: why the table cannot run (one line naming its file and line): it is declared so that
    #: the tables reading it are skipped, and fails on every run until its file is fixed
    refused: str | None = None

    @property
    def defined_by(self) -> str:
        """Which definition is in force: the project's file, or lakeshop's own."""
        if not self.origin:
            return "lakeshop (built-in)"
        return f"{self.origin} (project model{', replaces the built-in' if self.replaces_builtin else ''})"

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def quarantine(self) -> str:
        """Where rows failing a ``drop`` expectation go."""
        return f"{self.name}__quarantine"

    @property
    def rejects(self) -> str:
        """Where malformed lines of an ``ingest`` table go."""
        return f"{self.name}__rejects"

    @property
    def stored(self) -> bool:
        return self.kind is not Kind.VIEW

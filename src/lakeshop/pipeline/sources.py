"""Landing sources as configuration: where files are, how to parse them, how to map their columns."""

from __future__ import annotations

import difflib
import zoneinfo
from pathlib import Path
from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlglot import exp

from lakeshop.core.errors import ConfigError
from lakeshop.core.sqltext import ident, literal
from lakeshop.engines.files import CsvOptions, read_columns
from lakeshop.pipeline.jail import check_glob, matching

Format = Literal["csv", "jsonl", "parquet"]
#: landing files whose column names a project's load reads to check a ``where`` condition
#: (the first and the last ones in name order)
WHERE_CHECK_FILES = 10
#: what ingest does with a file's columns that are not contract fields (nor used by the mapping)
NewColumns = Literal["rescue", "add", "fail"]


class Const(BaseModel):
    """A field set to the same value on every row."""

    model_config = ConfigDict(extra="forbid")
    const: str | int | float | bool | None


class Expr(BaseModel):
    """A field computed by a SQL expression (DuckDB dialect) over the export's columns."""

    model_config = ConfigDict(extra="forbid")
    sql: str

    @field_validator("sql")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            sqlglot.parse_one(value, read="duckdb")
        except sqlglot.errors.ParseError as exc:
            raise ValueError(f"not a SQL expression: {exc}") from exc
        return value


FieldMapping = str | Const | Expr
#: a code of an export (YAML may read ``1`` or ``yes`` as a number or a boolean: kept as text)
Code = str | int | float | bool


class FileOptions(BaseModel):
    """Parsing options of a source's files."""

    model_config = ConfigDict(extra="forbid")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    encoding: str = "utf-8"
    header: bool = True
    #: more malformed lines than this and the file is refused whole (recorded, not read again)
    max_rejected_lines: int = Field(default=10_000, ge=0)
    #: a ``.gz`` file expanding to more than this many times its size is refused (gzip bomb)
    max_gunzip_ratio: int = Field(default=200, ge=1)

    def csv(self) -> CsvOptions:
        """The parser's options."""
        return CsvOptions(
            self.delimiter,
            self.quote,
            self.encoding,
            self.header,
            self.max_rejected_lines,
            self.max_gunzip_ratio,
        )


class Lookup(BaseModel):
    """Columns of a small reference export (or another source's files) joined onto a source's
    rows by key before mapping, e.g. an order's status onto its lines.

    Every file matching ``path`` (under the landing folder, in name order) is read when a file
    of the source is ingested; a key found several times takes the last row of the last file;
    a key not found gives NULL. The files read are kept as raw copies and named in the
    ingested file's ``_system.files`` entry, so that a replay or full refresh joins the same
    rows (see docs/mapping.md).
    """

    model_config = ConfigDict(extra="forbid")
    path: str
    format: Literal["csv", "parquet"] = "csv"
    options: FileOptions = FileOptions()
    #: the source's column → the lookup's column, e.g. ``{order_id: order_id}``
    on: dict[str, str] = Field(min_length=1)
    #: the name the mapping uses → the lookup's column, e.g. ``{order_status: order_status}``
    columns: dict[str, str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: object) -> object:
        """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it as ``on``."""
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        return check_glob(value)

    def files(self, landing: Path) -> list[Path]:
        """Matching files inside the landing folder, in name order (the last one wins for a
        key found twice); links out of the landing folder are left out (see
        :mod:`lakeshop.pipeline.jail`)."""
        return matching(landing, self.path)[0]


class Source(BaseModel):
    """One source of the contract fed by files matching ``path`` under the landing folder."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    path: str
    format: Format = "csv"
    options: FileOptions = FileOptions()
    mapping: dict[str, FieldMapping] = {}
    #: per contract field, the export's codes and what they mean in the contract, e.g.
    #: ``{status: {canceled: cancelled}}`` (a code mapped to null becomes NULL); others unchanged
    values: dict[str, dict[Code, Code | None]] = {}
    #: rescue: kept as JSON in ``_rescued_data``; add: own text column in bronze; fail: file rejected
    on_new_columns: NewColumns = "rescue"
    #: a SQL condition (DuckDB dialect) over the export's (and looked-up) columns: rows for
    #: which it is not true are left out of bronze and counted as ``filtered``
    where: str | None = None
    #: reference columns joined by key before mapping, by lookup name (see :class:`Lookup`)
    lookup: dict[str, Lookup] = {}
    #: the IANA time zone of this source's naive timestamps (default: the project's ``timezone``)
    timezone: str | None = None
    fields: list[str] = []
    required: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("where")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            where_columns(value)
        return value

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        return check_glob(value)

    def files(self, landing: Path) -> list[Path]:
        """Matching files inside the landing folder, in name order (so a day's files are
        ingested in sequence); see :meth:`outside` for the links out of it."""
        return matching(landing, self.path)[0]

    def outside(self, landing: Path) -> list[Path]:
        """Matching files that resolve outside the landing folder (links out): refused."""
        return matching(landing, self.path)[1]

    def looked_up(self) -> list[str]:
        """The names the lookups add to a file's columns, in configuration order."""
        return [name for lk in self.lookup.values() for name in lk.columns]

    def select_list(
        self, columns: list[str], looked_up: list[str] | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        """SQL select items for the contract fields, missing required columns, rescued columns.

        Every field becomes text. A column the mapping reads that the file lacks reads as NULL
        when the field is optional (a glob's older files may lack a newer column); a required
        field's missing column is reported. Columns the mapping does not use are rescued
        (kept as JSON); ``looked_up`` columns (from ``lookup:``) are usable like the file's own
        and never rescued.
        """
        present = set(columns) | set(looked_up or [])
        items: list[str] = []
        missing: list[str] = []
        used: set[str] = set()
        for f in self.fields:
            spec = self.mapping.get(f, f)
            value: str | None
            if isinstance(spec, Const):
                value = literal(spec.const)
            elif isinstance(spec, Expr):
                tree = sqlglot.parse_one(spec.sql, read="duckdb")
                refs = {c.name for c in tree.find_all(exp.Column)}
                absent = sorted(refs - present)
                if absent and f in self.required:
                    missing.extend(f"{c} (for {f})" for c in absent)
                used |= refs
                value = f"({_absent_as_null(tree, set(absent)).sql('duckdb')})"
            elif spec in present:
                used.add(spec)
                value = ident(spec)
            else:
                if f in self.required:
                    missing.append(spec if spec == f else f"{spec} (for {f})")
                value = None
            if value is None:
                items.append(f"CAST(NULL AS VARCHAR) AS {ident(f)}")
            else:
                items.append(f"CAST({self.translated(f, value)} AS VARCHAR) AS {ident(f)}")
        rescued = [
            c for c in columns if c not in used and c not in self.fields and c != "_source_row"
        ]
        return items, missing, rescued

    def where_columns(self) -> list[str]:
        """The columns the ``where`` condition reads (none without one)."""
        return where_columns(self.where) if self.where else []

    def translated(self, field: str, value: str) -> str:
        """``value`` (SQL over the export's columns) with the field's ``values`` translated:
        ``CASE TRIM(CAST(value AS VARCHAR)) WHEN code THEN meaning ... ELSE value END``."""
        codes = self.values.get(field)
        if not codes:
            return value
        this = sqlglot.parse_one(value, read="duckdb")
        text = exp.func("TRIM", exp.cast(this.copy(), exp.DataType.Type.VARCHAR))
        case = exp.Case(this=text)
        for code, meaning in codes.items():
            to = exp.null() if meaning is None else exp.Literal.string(_text(meaning))
            case = case.when(exp.Literal.string(_text(code)), to)
        return case.else_(exp.cast(this, exp.DataType.Type.VARCHAR)).sql("duckdb")

    def missing_optional(self, columns: list[str], looked_up: list[str] | None = None) -> list[str]:
        """Optional contract fields the export lacks and the mapping does not provide, and the
        columns an optional field's mapping reads that the file lacks (``col (for field)``)."""
        present = set(columns) | set(looked_up or [])
        out = []
        for f in self.fields:
            if f in self.required:
                continue
            spec = self.mapping.get(f)
            if spec is None:
                if f not in present:
                    out.append(f)
            elif isinstance(spec, str):
                if spec not in present:
                    out.append(f"{spec} (for {f})")
            elif isinstance(spec, Expr):
                refs = sqlglot.parse_one(spec.sql, read="duckdb").find_all(exp.Column)
                out.extend(f"{c} (for {f})" for c in sorted({r.name for r in refs} - present))
        return out


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone (``Europe/London``, ``UTC``); ValueError else."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"an IANA time zone such as Europe/London or UTC ({name}){hint}") from None
    return name


def where_columns(condition: str) -> list[str]:
    """The columns a ``where`` condition reads, in name order; ValueError when it is not one
    SQL condition (DuckDB dialect)."""
    try:
        tree = sqlglot.parse_one(condition, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"not a SQL condition: {exc}") from exc
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Query):
        raise ValueError(f"not a SQL condition: {condition!r}")
    return sorted({c.name for c in tree.find_all(exp.Column)})


def _absent_as_null(tree: exp.Expr, absent: set[str]) -> exp.Expr:
    """``tree`` with every column in ``absent`` read as a text NULL."""
    if not absent:
        return tree

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name in absent:
            return exp.cast(exp.null(), exp.DataType.Type.VARCHAR)
        return node

    return tree.copy().transform(swap)


def check_where(source: Source, landing: Path, file: str) -> None:
    """A ``where`` condition reads only columns the source's files (the first and last few
    in landing) or its lookups have; no files yet: nothing to check against."""
    needed = source.where_columns()
    if not needed:
        return
    matching = source.files(landing)
    sample = matching[:WHERE_CHECK_FILES] + matching[WHERE_CHECK_FILES:][-WHERE_CHECK_FILES:]
    options = source.options.csv()
    headers: set[str] = set()
    for path in sample:
        headers |= set(read_columns(path, source.format, options))
    known = headers | set(source.looked_up())
    unknown = [c for c in needed if c not in known]
    if headers and unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"sources.{source.name}.where",
            f"a condition over the export's columns ({', '.join(sorted(known))}){hint}",
            f"unknown column '{unknown[0]}'",
            file,
        )


def _text(code: Code) -> str:
    """A code as the text an export holds (YAML's ``true`` is ``true``, not ``True``)."""
    if isinstance(code, bool):
        return "true" if code else "false"
    return str(code)


def check_mapping(source: Source, file: str) -> None:
    """Mapping and ``values`` keys must be contract fields of the source; lookup names must
    not shadow each other."""
    seen: dict[str, str] = {}
    for name, lk in source.lookup.items():
        for column in lk.columns:
            if column in seen:
                raise ConfigError(
                    f"sources.{source.name}.lookup.{name}.columns.{column}",
                    f"a name no other lookup gives (lookup '{seen[column]}' gives it)",
                    file=file,
                )
            seen[column] = name
    for setting, keys in (("mapping", source.mapping), ("values", source.values)):
        unknown = sorted(set(keys) - set(source.fields))
        if unknown:
            raise ConfigError(
                f"sources.{source.name}.{setting}.{unknown[0]}",
                f"one of the fields of source '{source.name}': {', '.join(source.fields)}",
                file=file,
            )

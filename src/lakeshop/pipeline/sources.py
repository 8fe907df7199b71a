"""Landing sources as configuration: where files are, how to parse them, how to map their columns."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlglot import exp

from lakeshop.core.errors import ConfigError
from lakeshop.core.sqltext import ident, literal

Format = Literal["csv", "jsonl", "parquet"]
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
    fields: list[str] = []
    required: list[str] = []

    def files(self, landing: Path) -> list[Path]:
        """Matching files, in name order (so a day's files are ingested in sequence)."""
        return sorted(p for p in landing.glob(self.path) if p.is_file())

    def select_list(self, columns: list[str]) -> tuple[list[str], list[str], list[str]]:
        """SQL select items for the contract fields, missing required columns, rescued columns.

        Every field becomes text; fields absent from the export and not mapped are NULL when
        optional. Columns the mapping does not use are rescued (kept as JSON).
        """
        present = set(columns)
        items: list[str] = []
        missing: list[str] = []
        used: set[str] = set()
        for f in self.fields:
            spec = self.mapping.get(f, f)
            value: str | None
            if isinstance(spec, Const):
                value = literal(spec.const)
            elif isinstance(spec, Expr):
                refs = {
                    c.name for c in sqlglot.parse_one(spec.sql, read="duckdb").find_all(exp.Column)
                }
                absent = sorted(refs - present)
                if absent:
                    missing.extend(f"{c} (for {f})" for c in absent)
                used |= refs
                value = f"({spec.sql})"
            elif spec in present:
                used.add(spec)
                value = ident(spec)
            else:
                if f in self.required or f in self.mapping:
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

    def missing_optional(self, columns: list[str]) -> list[str]:
        """Optional contract fields the export lacks and the mapping does not provide."""
        present = set(columns)
        return [
            f
            for f in self.fields
            if f not in self.mapping and f not in present and f not in self.required
        ]


def _text(code: Code) -> str:
    """A code as the text an export holds (YAML's ``true`` is ``true``, not ``True``)."""
    if isinstance(code, bool):
        return "true" if code else "false"
    return str(code)


def check_mapping(source: Source, file: str) -> None:
    """Mapping and ``values`` keys must be contract fields of the source."""
    for setting, keys in (("mapping", source.mapping), ("values", source.values)):
        unknown = sorted(set(keys) - set(source.fields))
        if unknown:
            raise ConfigError(
                f"sources.{source.name}.{setting}.{unknown[0]}",
                f"one of the fields of source '{source.name}': {', '.join(source.fields)}",
                file=file,
            )

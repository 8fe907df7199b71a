"""Unit tests of a project's models: ``tests/*.yml`` give rows of the tables a model reads and
the rows its SQL must return; each case runs in memory on a fresh engine (DuckDB, or Spark
with the same cases), no lakehouse needed.

A case file is a mapping of case names to cases::

    margin_after_freight:
      model: gold.net_margin_daily
      inputs:
        gold.fact_sales:            # rows of a table the model reads
          - {order_date: 2026-01-01, store_id: S1, sales_total_base: 100}
        gold.fact_returns:
          rows: []                  # none, with the types of its columns
          types: {return_date: DATE, return_amount_base: DECIMAL(18, 2)}
      expect:
        - {sales_date: 2026-01-01, store_id: S1, net_revenue: 100}

A column an input does not give is NULL; only the columns named in ``expect`` are compared,
and rows are compared as a multiset (order does not matter). The case tests the model's
query as a full refresh computes it (its kind's bookkeeping is the pipeline's, tested there).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlglot
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from lakeshop.app.models.loader import validated, yaml_lines
from lakeshop.core.errors import ConfigError, LakeshopError, ModelError
from lakeshop.core.sqltext import render, to_column, to_identifier, to_table
from lakeshop.engines.base import Engine
from lakeshop.pipeline.lineage import Lineage

TESTS_DIR = "tests"
TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"


class InputSpec(BaseModel):
    """Rows of an upstream table, and the SQL types of some of its columns."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Any]] = []
    #: column → DuckDB type (``DECIMAL(18, 2)``, ``DATE``, ``TIMESTAMP`` …); others inferred
    types: dict[str, str] = {}


class CaseSpec(BaseModel):
    """One unit test: the model, its inputs, the rows it must return."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(pattern=TABLE)
    description: str = ""
    inputs: dict[str, list[dict[str, Any]] | InputSpec] = {}
    expect: list[dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """A case as read from its file."""

    name: str
    file: str
    line: int
    spec: CaseSpec


@dataclass
class CaseResult:
    """A case's outcome: the rows expected and not returned, and those returned and not
    expected (each as a column → value mapping over the compared columns)."""

    case: Case
    engine: str
    passed: bool
    seconds: float = 0.0
    error: str | None = None
    columns: list[str] = field(default_factory=list)
    matched: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    unexpected: list[dict[str, Any]] = field(default_factory=list)


def case_files(directory: Path) -> list[Path]:
    """The project's ``tests/*.yml`` (and ``.yaml``), by name."""
    folder = directory / TESTS_DIR
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def read_cases(path: Path, display: str) -> list[Case]:
    """The cases of one file; a mistake is a :class:`ModelError` at its line."""
    raw, lines = yaml_lines(path.read_text(encoding="utf-8"), display)
    cases = []
    for name, body in raw.items():
        line = lines.get((name,), 1)
        inner = {k[1:]: v for k, v in lines.items() if k and k[0] == name}
        spec = validated(CaseSpec, body, inner, display)
        cases.append(Case(str(name), display, line, spec))
    return cases


def run_cases(
    cases: list[Case],
    tables: dict[str, Any],
    lineage: Lineage,
    engine: Engine,
    engine_name: str,
) -> list[CaseResult]:
    """Run each case on ``engine`` (its inputs bound as views, the model's SQL fetched)."""
    results = []
    for i, case in enumerate(cases):
        clock = time.perf_counter()
        try:
            result = _run_case(case, i, tables, lineage, engine, engine_name)
        except LakeshopError as exc:
            result = CaseResult(case, engine_name, False, error=str(exc))
        except Exception as exc:  # the engine's own error: the SQL fails on these rows
            text = str(exc).strip().splitlines()
            result = CaseResult(
                case, engine_name, False, error=f"{type(exc).__name__}: {text[0] if text else ''}"
            )
        result.seconds = time.perf_counter() - clock
        results.append(result)
    return results


def _run_case(
    case: Case,
    index: int,
    tables: dict[str, Any],
    lineage: Lineage,
    engine: Engine,
    engine_name: str,
) -> CaseResult:
    spec = case.spec
    table = tables.get(spec.model)
    where = f"{case.file}:{case.line}"
    if table is None:
        raise ModelError(case.file, case.line, f"case '{case.name}': no table {spec.model}")
    if table.refused:
        raise LakeshopError(f"model refused: {table.refused}")
    if not table.sql:
        raise ModelError(case.file, case.line, f"{spec.model} has no SQL to test")
    reads = sorted(lineage.graph.upstream.get(spec.model, set()))
    missing = [r for r in reads if r not in spec.inputs]
    if missing:
        raise ModelError(
            case.file,
            case.line,
            f"case '{case.name}': {spec.model} reads {', '.join(missing)}: give its rows under "
            "inputs (an empty list for none)",
        )
    for n, (name, given) in enumerate(sorted(spec.inputs.items())):
        if name not in reads:
            raise ModelError(
                case.file, case.line, f"case '{case.name}': {spec.model} does not read {name}"
            )
        data = given if isinstance(given, InputSpec) else InputSpec(rows=given)
        relation = f"_case{index}_input{n}"
        columns = lineage.columns(name)
        engine.register(relation, _arrow(data, where, name))
        engine.bind_view(name, _input_sql(relation, data, columns, where, name))
    got = engine.fetch(table.sql)
    expected = spec.expect
    compared = list(dict.fromkeys(c for row in expected for c in row)) or got.column_names
    absent = [c for c in compared if c not in got.column_names]
    if absent:
        raise ModelError(
            case.file,
            case.line,
            f"case '{case.name}': expected column(s) {', '.join(absent)} are not returned by "
            f"{spec.model} ({', '.join(got.column_names)})",
        )
    actual_rows = got.select(compared).to_pylist()
    want = Counter(_key(row, compared) for row in expected)
    have = Counter(_key(row, compared) for row in actual_rows)
    short, extra = want - have, have - want
    return CaseResult(
        case,
        engine_name,
        not short and not extra,
        columns=compared,
        matched=sum((want & have).values()),
        missing=_as_written(expected, short, compared),
        unexpected=_as_written(actual_rows, extra, compared),
    )


def _as_written(
    rows: list[dict[str, Any]], left: Counter[tuple[Any, ...]], columns: list[str]
) -> list[dict[str, Any]]:
    """The rows counted in ``left``, as given or returned (sorted for a stable display)."""
    out, wanted = [], Counter(left)
    for row in rows:
        key = _key(row, columns)
        if wanted[key] > 0:
            wanted[key] -= 1
            out.append({c: row.get(c) for c in columns})
    return sorted(out, key=lambda r: repr(_key(r, columns)))


def _arrow(data: InputSpec, where: str, name: str) -> pa.Table:
    """The given rows as Arrow (types inferred from the YAML values; typed columns cast in
    SQL). Every row has every column named in any row."""
    names = list(dict.fromkeys(c for row in data.rows for c in row)) or list(data.types)
    rows = [{c: row.get(c) for c in names} for row in data.rows]
    if not rows:  # no rows: columns of no type yet (typed in SQL), or a placeholder one
        return pa.table({c: pa.array([], pa.string()) for c in names or ["_no_column"]})
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LakeshopError(
            f"{where}: rows of {name}: values of one column differ in type ({exc})"
        ) from exc


def _input_sql(relation: str, data: InputSpec, columns: list[str], where: str, name: str) -> str:
    """``SELECT`` the given columns (cast where typed) and NULL for the others."""
    given = list(dict.fromkeys(c for row in data.rows for c in row)) or list(data.types)
    unknown = [c for c in [*given, *data.types] if c not in columns]
    if unknown:
        raise LakeshopError(
            f"{where}: {name} has no column '{unknown[0]}' (its columns: {', '.join(columns)})"
        )
    selects: list[exp.Expr] = []
    for c in columns:
        value: exp.Expression = to_column(c) if c in given else exp.Null()
        if c in data.types:
            try:
                kind = exp.DataType.build(data.types[c], dialect="duckdb")
            except (sqlglot.errors.SqlglotError, ValueError) as exc:
                raise LakeshopError(
                    f"{where}: {name}.{c}: '{data.types[c]}' is not a SQL type"
                ) from exc
            value = exp.cast(value, kind)
        selects.append(exp.alias_(value, to_identifier(c)))
    return render(exp.select(*selects).from_(to_table(relation)))


def _key(row: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    return tuple(_plain(row.get(c)) for c in columns)


def _plain(value: Any) -> Any:
    """A value as compared: numbers as floats to 9 significant digits, times as text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return float(f"{number:.9g}")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else repr(value)


def side_by_side(result: CaseResult) -> list[str]:
    """The differing rows: each expected row not returned beside a returned row not expected."""
    cols = result.columns
    left = [[_show(r[c]) for c in cols] for r in result.missing]
    right = [[_show(r[c]) for c in cols] for r in result.unexpected]
    widths = [max([len(c), *(len(row[i]) for row in left + right)]) for i, c in enumerate(cols)]

    def line(cells: list[str] | None) -> str:
        if cells is None:
            return "  ".join(" " * w for w in widths)
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True))

    half = len(line(cols))
    lines = [
        "expected, not returned".ljust(half) + "  │  returned, not expected",
        line(cols) + "  │  " + line(cols),
    ]
    for a, b in zip_longest(left, right):
        lines.append(line(a) + "  │  " + (line(b) if b is not None else ""))
    return [text.rstrip() for text in lines]


def _show(value: Any) -> str:
    return "NULL" if value is None else str(value)


def select_cases(cases: list[Case], model: str | None, tables: dict[str, Any]) -> list[Case]:
    """The cases of ``model`` (``schema.table``, or its name alone), or all of them."""
    if model is None:
        return cases
    names = {c.spec.model for c in cases}
    full = (
        model
        if "." in model
        else next((n for n in sorted(names) if n.split(".")[1] == model), model)
    )
    if full not in tables:
        raise ConfigError("MODEL", "a table of the project (schema.table or its name)", model)
    return [c for c in cases if c.spec.model == full]

"""Reading a project's ``models/``: each ``<name>.sql`` (one SELECT, DuckDB dialect) and its
declaration (``<name>.yml`` beside it, or a header block of ``--`` comments between two
``-- ---`` lines), into a pipeline :class:`~lakeshop.pipeline.model.Table`.

Every mistake is a :class:`~lakeshop.core.errors.ModelError` naming the file and the line
(and the column of a SQL mistake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args

import sqlglot
import yaml
from pydantic import BaseModel, ValidationError
from sqlglot import exp

from lakeshop.app.models.spec import NAME, ModelSpec
from lakeshop.core import sqltext
from lakeshop.core.errors import LakeshopError, ModelError
from lakeshop.pipeline.model import Kind, Table
from lakeshop.retail.settings import RetailSettings

M = TypeVar("M", bound=BaseModel)

MODELS_DIR = "models"
#: the line opening and closing a declaration in a SQL file's header
HEADER = "-- ---"
#: schemas a model may not be stored in: files land in bronze, lakeshop keeps its own in _system
RESERVED_SCHEMAS = ("bronze", "_system")


@dataclass
class Declared:
    """A model as read from its files, before it is checked against the graph."""

    name: str
    sql_file: Path
    #: the SQL file as shown in errors (relative to the working folder when below it)
    file: str
    #: the declaration's file as shown in errors (the SQL file for a header block)
    decl_file: str
    spec: ModelSpec
    sql: str
    tree: exp.Query
    #: the line of each declared key, by its path (``("expectations", 0)``)
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line(self, *path: Any) -> int:
        """The line of ``path`` in the declaration, or of its nearest declared parent."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def table(self, builtin: bool) -> Table:
        """The pipeline's declaration of the model."""
        s = self.spec
        origins = [
            f"{self.decl_file}:{self.line('expectations', i)}" for i in range(len(s.expectations))
        ]
        return Table(
            name=self.name,
            kind=s.table_kind,
            sql=self.sql,
            sql_file=self.sql_file,
            expectations=tuple(
                e.expectation(o) for e, o in zip(s.expectations, origins, strict=True)
            ),
            keys=tuple(s.keys),
            sequence=s.sequence,
            description=s.description,
            incremental_by=s.incremental_by,
            touched=dict(s.touched),
            scope=dict(s.scope),
            surrogate_key=s.surrogate_key,
            owner=s.owner,
            column_docs=dict(s.columns),
            origin=self.file,
            replaces_builtin=builtin,
        )


def model_files(directory: Path) -> list[Path]:
    """The SQL files of the project's ``models/`` folder, by name."""
    folder = directory / MODELS_DIR
    return sorted(folder.glob("*.sql")) if folder.is_dir() else []


def read(path: Path, settings: RetailSettings, display: str) -> Declared:
    """Read one model: its declaration, validated, and its SQL, parsed (``$params`` of the
    project's settings filled in, as in lakeshop's own SQL)."""
    stem = path.stem
    if not re.match(NAME, stem):
        raise ModelError(display, None, f"'{stem}' is not a table name (letters, digits, _)")
    text = path.read_text(encoding="utf-8")
    header, offset = _header(text, display)
    yml = path.with_suffix(".yml")
    if not yml.exists() and path.with_suffix(".yaml").exists():
        yml = path.with_suffix(".yaml")
    decl_file = display
    if yml.exists():
        yml_display = str(Path(display).with_name(yml.name))
        if header is not None:
            raise ModelError(
                display, offset, f"declared twice: in its header and in {yml_display}; keep one"
            )
        header, offset, decl_file = yml.read_text(encoding="utf-8"), 0, yml_display
    if header is None:
        raise ModelError(
            display,
            None,
            f"no declaration: write {Path(display).with_suffix('.yml').name} beside it, or a "
            f"header between two '{HEADER}' lines (`lakeshop new model {stem}` writes one)",
        )
    raw, lines = yaml_lines(header, decl_file, offset)
    spec = _validate(raw, lines, decl_file)
    if spec.schema_ in RESERVED_SCHEMAS or spec.schema_.startswith("_"):
        at = lines.get(("schema",), 1)
        raise ModelError(
            decl_file,
            at,
            f"schema '{spec.schema_}' is lakeshop's own; use silver, gold or one of yours",
        )
    try:
        sql = sqltext.Template(text, display).render(settings.params(), unused="ignore")
    except LakeshopError as exc:
        raise ModelError(display, None, str(exc)) from exc
    # run inside other SQL (``SELECT * FROM (<sql>) AS v``): no final semicolon, and a last
    # line that is a comment ends
    sql = re.sub(r"[\s;]+$", "", sql) + "\n"
    tree = parse_select(sql, display)
    declared = Declared(f"{spec.schema_}.{stem}", path, display, decl_file, spec, sql, tree, lines)
    check_kind(declared)
    return declared


def parse_select(sql: str, file: str) -> exp.Query:
    """``sql`` as one query (SELECT, WITH … SELECT, a UNION), or the error at its line and column."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        message = first.get("description") or str(exc).splitlines()[0]
        near = first.get("highlight")
        hint = f" near '{near}'" if near else ""
        raise ModelError(
            file, first.get("line"), f"SQL syntax error: {message}{hint}", first.get("col")
        ) from exc
    except sqlglot.errors.SqlglotError as exc:
        raise ModelError(file, None, f"SQL syntax error: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise ModelError(
            file, None, f"one SELECT statement expected, found {len(statements)} statements"
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise ModelError(file, _line(tree), f"one SELECT expected, found {tree.key.upper()}")
    return tree


def check_kind(d: Declared) -> None:
    """What each kind needs of its declaration (the columns are checked against the SQL
    later, once the tables it reads are known)."""
    s, file = d.spec, d.decl_file
    kind = s.table_kind

    def refuse(key: str, message: str) -> None:
        raise ModelError(file, d.line(key), f"kind {kind.value}: {message}")

    if kind in (Kind.APPEND, Kind.UPSERT) and not s.keys:
        refuse("kind", "needs keys (the columns that identify a row)")
    if kind is Kind.SCD2:
        if len(s.keys) != 1:
            refuse("keys", "needs exactly one key (the business key its versions share)")
        if not s.sequence:
            refuse("kind", "needs a sequence (the column ordering a key's versions)")
        if not s.surrogate_key:
            refuse("kind", "needs a surrogate_key (the name of the version key column it adds)")
    if kind is not Kind.SCD2 and s.surrogate_key:
        refuse("surrogate_key", "surrogate_key is for scd2 models")
    if kind is not Kind.MATERIALIZED and s.incremental_by:
        refuse("incremental_by", "incremental_by is for materialized models")
    if (s.touched or s.scope) and not s.incremental_by and kind is not Kind.SCD2:
        refuse("touched" if s.touched else "scope", "touched and scope need incremental_by")
    if s.incremental_by and any(e.action == "drop" for e in s.expectations):
        at = next(i for i, e in enumerate(s.expectations) if e.action == "drop")
        raise ModelError(
            file,
            d.line("expectations", at),
            "a model recomputed in part (incremental_by) cannot drop rows: use warn, fail or retry",
        )
    if kind is Kind.VIEW:
        if s.keys or s.sequence:
            refuse("keys" if s.keys else "sequence", "a view stores nothing: no keys or sequence")
        if s.expectations:
            refuse("expectations", "a view stores nothing to check: no expectations")


def _header(text: str, file: str) -> tuple[str | None, int]:
    """The YAML of a header block and the line before its first line (or None)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != HEADER:
        return None, 0
    body: list[str] = []
    for i in range(first + 1, len(lines)):
        line = lines[i].strip()
        if line == HEADER:
            return "\n".join(body), first + 1
        if not line.startswith("--"):
            break
        body.append(line[3:] if line.startswith("-- ") else line[2:])
    raise ModelError(file, first + 1, f"the header block has no closing '{HEADER}' line")


def yaml_lines(text: str, file: str, offset: int = 0) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The YAML's data, and the line (in the file) of every key and list item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 + offset if mark else None
        raise ModelError(file, line, f"YAML syntax: {problem}") from exc
    if not isinstance(raw, dict):
        raise ModelError(file, offset + 1, "expected a mapping of keys")
    lines: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                lines[(*path, k.value)] = k.start_mark.line + 1 + offset
                walk(v, (*path, k.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[(*path, i)] = item.start_mark.line + 1 + offset
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return raw, lines


def _validate(raw: Any, lines: dict[tuple[Any, ...], int], file: str) -> ModelSpec:
    return validated(ModelSpec, raw, lines, file)


def validated(model: type[M], raw: Any, lines: dict[tuple[Any, ...], int], file: str) -> M:
    """``raw`` validated as ``model``, or a :class:`ModelError` at the line of the first
    mistake."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # an unknown key first: a misspelt key explains the required one found missing
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = tuple(first["loc"])
        path = loc
        while path and path not in lines:
            path = path[:-1]
        key = ".".join(str(p) for p in loc) or "(top level)"
        kind, ctx = first["type"], first.get("ctx") or {}
        if kind == "extra_forbidden":
            known = ", ".join(
                f.alias or n for n, f in _model_at(model, loc[:-1]).model_fields.items()
            )
            message = f"unknown key '{key}' (known: {known})"
        elif kind == "missing":
            message = f"'{key}' is required"
        elif kind == "literal_error":
            message = (
                f"'{key}': expected one of {ctx.get('expected', '')}, found {first.get('input')!r}"
            )
        else:
            message = f"'{key}': {first['msg'].lower()}, found {first.get('input')!r}"
        raise ModelError(file, lines.get(path, 1), message) from exc


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The pydantic model validating the mapping at ``loc`` (``model`` when not found)."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if str(part) not in fields:
                continue
            current = fields[str(part)].annotation
        args = [a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)]
        if args:
            current = args[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else model


def _line(node: exp.Expr) -> int | None:
    """The line of a parsed node (of its first identifier carrying one)."""
    for n in node.walk():
        line = n.meta.get("line") if isinstance(n, exp.Expression) else None
        if line:
            return int(line)
    return None

"""A lakeshop project: ``lakeshop.yml`` (targets, sources) plus the retail pipeline it runs."""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from lakeshop.app.config import ProjectConfig, Target
from lakeshop.app.environments import foreign_schemas, schema_prefix
from lakeshop.app.models.resolve import Models, join
from lakeshop.core.errors import ConfigError, SecretValueError
from lakeshop.engines import registry, storage
from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.registry import EngineName as EngineName  # the one definition, re-exported
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.sources import Source, check_mapping, check_where
from lakeshop.retail import contract, pipeline
from lakeshop.retail.orphans import DEFAULT_HOLD_DAYS, RELATIONS, Policy

CONFIG_FILE = "lakeshop.yml"


@dataclass
class Project:
    """A loaded project: its folder, configuration, sources and table graph."""

    directory: Path
    config: ProjectConfig
    sources: dict[str, Source]
    graph: Graph
    #: the project's own tables (``models/``), the refused ones with why
    models: Models = field(default_factory=Models)
    #: one lakehouse per target, so that the run, its lock and its alerts share opened tables
    _lakehouses: dict[str, Lakehouse] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, directory: Path) -> Project:
        """Read ``lakeshop.yml`` from ``directory`` (all defaults when it is absent).

        Every mistake in the file is a :class:`ConfigError` naming the key's path, what was
        expected and what was found, e.g. ``setting 'sources.orders.format': expected one of
        csv, jsonl, parquet, found 'xls'``.
        """
        directory = directory.resolve()
        if not directory.is_dir():
            raise ConfigError(
                "--project", "an existing folder (the one holding lakeshop.yml)", str(directory)
            )
        path = directory / CONFIG_FILE
        file = _display(path)
        raw: Any = {}
        if path.exists():
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ConfigError("(YAML syntax)", "valid YAML", _yaml_problem(exc), file) from exc
            if not isinstance(raw, dict):
                raise ConfigError("(top level)", "a mapping of settings", type(raw).__name__, file)
        try:
            config = ProjectConfig.model_validate(raw)
        except ValidationError as exc:
            raise _translate(exc.errors(), raw, file) from exc
        if not config.targets:
            raise ConfigError(
                "targets", "at least one target, e.g. {dev: {root: lakehouse}}", file=file
            )
        if config.default_target not in config.targets:
            raise ConfigError(
                "default_target",
                f"one of the targets {', '.join(sorted(config.targets))}",
                config.default_target,
                file,
            )
        if config.base_currency not in contract.iso_currencies():
            raise ConfigError(
                "base_currency",
                "an ISO 4217 currency code in capitals, such as USD, EUR, GBP or BRL",
                config.base_currency,
                file,
            )
        builtins = pipeline.tables(config.retail, config.orphans.resolve(file))
        landing = (directory / config.landing).resolve()
        sources = _sources(config, file, landing)
        shown = Path(_display(directory))
        graph, models = join(builtins, directory, config.retail, sources, shown)
        return cls(directory, config, sources, graph, models)

    @property
    def shown(self) -> Path:
        """The project's folder as errors show it (relative to the working folder when below)."""
        return Path(_display(self.directory))

    @property
    def landing(self) -> Path:
        return (self.directory / self.config.landing).resolve()

    def target(self, name: str | None = None) -> tuple[str, Target]:
        """The named target, or the default one."""
        name = name or self.config.default_target
        if name not in self.config.targets:
            raise ConfigError(
                "--target",
                f"one of the targets of {CONFIG_FILE}: {', '.join(sorted(self.config.targets))}",
                name,
            )
        return name, self.config.targets[name]

    def lakehouse(self, target: str | None = None) -> Lakehouse:
        """The target's lakehouse (the same object on every call)."""
        name, t = self.target(target)
        if name not in self._lakehouses:
            schemas = {n.split(".", 1)[0] for n in self.graph.upstream}
            others = {
                n: o
                for n, o in self.config.targets.items()
                if n != name and o.catalog == t.catalog and self._place(o) == self._place(t)
            }
            self._lakehouses[name] = Lakehouse(
                self._root(name),
                t.catalog,
                schema_prefix(t),
                foreign=foreign_schemas(schema_prefix(t), others, schemas),
            )
        return self._lakehouses[name]

    def _place(self, t: Target) -> str:
        """Where a target's root is, to compare two (never validated here: an error in
        another target's root is that target's to report)."""
        if storage.looks_remote(t.root):
            return t.root.rstrip("/")
        return str((self.directory / t.root).resolve())

    def _root(self, target: str) -> Path:
        t = self.config.targets[target]
        if storage.looks_remote(t.root):  # an unknown scheme is refused, never a folder
            return storage.location(t.root, f"targets.{target}.root")
        return Path(self._place(t))

    def engine(
        self,
        target: str | None = None,
        engine: EngineName | None = None,
        *,
        lakehouse: Lakehouse | None = None,
    ) -> Engine:
        """The target's engine (or ``engine``, overriding it), opened on its lakehouse (or on
        ``lakehouse``: the target's read as it was, for time travel)."""
        name, t = self.target(target)
        chosen = engine or t.engine
        where = lakehouse or self.lakehouse(target)
        if where.remote and chosen != "duckdb":
            # Spark's executors write a table's Parquet files into its folder on their own
            # file system: untested on an object store, so refused rather than misplaced
            raise ConfigError(
                f"targets.{name}.engine",
                "duckdb for a lakehouse on an object store (docs/deploy.md, Object storage)",
                chosen,
            )
        settings = ENGINE_SETTINGS.get(chosen)
        options = settings(self, name, t) if settings else {}
        return registry.open_engine(chosen, where, **options)

    def scratch_engine(self, engine: EngineName | None = None, target: str | None = None) -> Engine:
        """The target's engine (or ``engine``) on an empty lakehouse in a temporary folder:
        for SQL run on given rows (unit tests of models), never on the target's tables."""
        name, t = self.target(target)
        chosen = engine or t.engine
        settings = ENGINE_SETTINGS.get(chosen)
        options = settings(self, name, t) if settings else {}
        scratch = Lakehouse(Path(tempfile.mkdtemp(prefix="lakeshop-test-")))
        return registry.open_engine(chosen, scratch, **options)


def _duckdb_settings(project: Project, name: str, t: Target) -> dict[str, Any]:
    spill = (project.directory / t.temp_directory).resolve() if t.temp_directory else None
    return {"threads": t.threads, "memory_limit": t.memory_limit, "temp_directory": spill}


def _spark_settings(project: Project, name: str, t: Target) -> dict[str, Any]:
    s = t.spark
    return {
        "master": s.master,
        "connect_url": s.connect_url,
        "conf": s.conf,
        "delta_writer": s.delta_writer,
        "setting": f"targets.{name}.spark.delta_writer",
    }


#: per registered engine: its options from a target's settings (project, target name, target)
ENGINE_SETTINGS: dict[str, Callable[[Project, str, Target], dict[str, Any]]] = {
    "duckdb": _duckdb_settings,
    "spark": _spark_settings,
}


def _sources(config: ProjectConfig, file: str, landing: Path) -> dict[str, Source]:
    unknown = sorted(set(config.sources) - set(contract.SOURCES))
    if unknown:
        raise ConfigError(
            f"sources.{unknown[0]}",
            f"one of the contract's sources: {', '.join(contract.SOURCES)}",
            file=file,
        )
    for name, configured in config.sources.items():
        internal = sorted(configured.model_fields_set & _INTERNAL_SOURCE_FIELDS)
        if internal:
            raise ConfigError(
                f"sources.{name}.{internal[0]}",
                _known_keys(_public_fields(Source), internal[0]),
                internal[0],
                file,
            )
    out = {}
    for name, spec in contract.SOURCES.items():
        given = config.sources.get(name)
        src = given.model_copy() if given else Source(path=spec.default_path, format=spec.format)
        src.name, src.fields, src.required = name, list(spec.fields), list(spec.required)
        check_mapping(src, file)
        check_where(src, landing, file)
        out[name] = src
    return out


# Set by the loader from the contract; not settings of lakeshop.yml.
_INTERNAL_SOURCE_FIELDS = frozenset({"name", "fields", "required"})

# How a member of a union type is described when no member fits a value.
_UNION_MEMBERS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "none": "null",
    "Const": "{const: value}",
    "Expr": "{sql: expression}",
}


def _display(path: Path) -> str:
    """``path`` relative to the working folder when it is below it (shorter error lines)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else str(problem)


def _translate(errors: list[Any], raw: Any, file: str, start: int = 0) -> ConfigError:
    """Turn pydantic's first validation error into a ConfigError on the key's path.

    pydantic puts the members of a union type in the error location (``str``, ``Const``,
    ``function-after[...]``); they are dropped from the key, and when a value fits no member
    of a union, the error reported is the one of the member the value was meant for (the one
    whose keys match), or else the list of the members.
    """
    first = errors[0]
    loc = tuple(first["loc"])
    marks = _tags(loc, raw, first["type"])
    if not any(marks[start:]):
        return _describe(first, raw, file)
    at = marks.index(True, start)
    prefix = loc[:at]
    branches: dict[str, list[Any]] = {}
    for e in errors:
        eloc = tuple(e["loc"])
        if eloc[:at] == prefix and len(eloc) > at and _tags(eloc, raw, e["type"])[at]:
            branches.setdefault(str(eloc[at]), []).append(e)
    fitting = [
        member
        for member, errs in branches.items()
        if not any(
            len(e["loc"]) == at + 1 or e["type"] in ("missing", "extra_forbidden") for e in errs
        )
    ]
    if len(fitting) == 1:
        return _translate(branches[fitting[0]], raw, file, at + 1)
    keys = _data_keys(prefix, raw)
    column = (
        "a column name of the export" if len(keys) >= 2 and keys[-2] == "mapping" else "a string"
    )
    members = list(
        dict.fromkeys(
            column if m == "str" else _UNION_MEMBERS.get(m, "a mapping") for m in branches
        )
    )
    expected = members[0] if len(members) == 1 else ", ".join(members[:-1]) + " or " + members[-1]
    return ConfigError(".".join(keys) or "(top level)", expected, _value_at(keys, raw), file)


def _tags(loc: tuple[Any, ...], raw: Any, kind: str) -> list[bool]:
    """Which parts of an error location are pydantic's union tags rather than keys."""
    node, marks = raw, []
    for i, part in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
            marks.append(False)
        else:
            # a missing field is named last; anything else not in the data is a union member
            marks.append(not (i == len(loc) - 1 and kind == "missing"))
    return marks


def _data_keys(loc: tuple[Any, ...], raw: Any) -> list[str]:
    return [str(p) for p, tag in zip(loc, _tags(loc, raw, "missing"), strict=True) if not tag]


def _value_at(keys: list[str], raw: Any) -> Any:
    node = raw
    for k in keys:
        node = node[int(k)] if isinstance(node, list) else node[k]
    return node


def _describe(error: Any, raw: Any, file: str) -> ConfigError:
    """One pydantic error as a ConfigError on the key's path (union tags dropped)."""
    kind, ctx, found = error["type"], error.get("ctx") or {}, error.get("input")
    full = tuple(error["loc"])
    loc = tuple(p for p, tag in zip(full, _tags(full, raw, kind), strict=True) if not tag)
    key = ".".join(str(p) for p in loc) or "(top level)"
    if kind == "extra_forbidden":
        known = _public_fields(_model_at(loc[:-1]))
        return ConfigError(key, _known_keys(known, str(loc[-1])), str(loc[-1]), file)
    if kind == "missing":
        return ConfigError(key, "a value (this setting is required)", file=file)
    if kind == "literal_error":
        values = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return ConfigError(
            key,
            f"one of {', '.join(values)}" if len(values) > 1 else ", ".join(values),
            found,
            file,
        )
    if kind == "value_error":
        if isinstance(ctx.get("error"), SecretValueError):
            found = None  # the value holds a secret: never repeated
        detail = _one_line(str(ctx.get("error", error["msg"])))
        if loc[-1] == "sql":
            detail = detail.removeprefix("not a SQL expression: ")
            return ConfigError(key, f"a SQL expression in DuckDB's dialect ({detail})", found, file)
        return ConfigError(key, f"a valid value ({detail})", found, file)
    expected = {
        "string_type": "a string",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "list_type": "a list",
        "dict_type": "a mapping of keys to values",
        "string_pattern_mismatch": f"a string matching {ctx.get('pattern')}",
        "string_too_short": f"a string of at least {ctx.get('min_length')} character(s)",
        "string_too_long": f"a string of at most {ctx.get('max_length')} character(s)",
        "greater_than_equal": f"a number >= {ctx.get('ge')}",
        "greater_than": f"a number > {ctx.get('gt')}",
        "less_than_equal": f"a number <= {ctx.get('le')}",
        "less_than": f"a number < {ctx.get('lt')}",
    }.get(kind)
    if kind == "model_type":
        model = _model_at(loc)
        expected = (
            f"a mapping of settings ({', '.join(_public_fields(model))})" if model else "a mapping"
        )
    return ConfigError(key, expected or _one_line(error["msg"]).lower(), found, file)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model that validates the value at ``loc`` (keys only, no union tags)."""
    annotation: Any = ProjectConfig
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
        # an optional setting (``webhook: WebhookChannel | None``): the model it holds
        if get_origin(annotation) in (Union, UnionType):
            models = [
                a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            annotation = models[0] if len(models) == 1 else annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _public_fields(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    hidden = _INTERNAL_SOURCE_FIELDS if model is Source else frozenset()
    return [f for f in model.model_fields if f not in hidden]


def _known_keys(known: list[str], found: str) -> str:
    if not known:
        return "no such key"
    close = difflib.get_close_matches(found, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"a known key ({', '.join(known)}{hint})"


def _one_line(text: str) -> str:
    """First line of a message, without terminal escape codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()[0].removeprefix("Value error, ")


def write_demo_config(directory: Path) -> Path:
    """Write a ``lakeshop.yml`` for generated landing files (every source at its default path)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "demo-retailer",
        "landing": "landing",
        "default_target": "dev",
        "targets": {"dev": {"root": "lakehouse", "catalog": "lakeshop"}},
        "base_currency": contract.BASE_CURRENCY,
        "credit_notes": {"negative_quantity": False},
        "sources": {
            name: {"path": spec.default_path, "format": spec.format}
            for name, spec in contract.SOURCES.items()
        },
        # the generated retailer's master data is complete: an unknown key is one of its
        # injected defects, held in quarantine (by default it would be inferred after the window)
        "orphans": {
            "hold_days": DEFAULT_HOLD_DAYS,
            "policy": {name: Policy.HOLD.value for name in RELATIONS},
        },
    }
    path = directory / CONFIG_FILE
    path.write_text(
        "# lakeshop project: where landing files are, how to read them, where tables go.\n"
        "# The generator's exports have no credit notes: a negative quantity is a defect there.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return path

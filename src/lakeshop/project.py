"""A lakeshop project: ``lakeshop.yml`` (targets, sources) plus the retail pipeline it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.errors import ConfigError
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.sources import Source, check_mapping
from lakeshop.retail import contract, pipeline

CONFIG_FILE = "lakeshop.yml"


class Target(BaseModel):
    """Where and how a target's tables are kept (dev, ci, staging, prod …)."""

    model_config = ConfigDict(extra="forbid")
    root: str = "lakehouse"
    catalog: str = Field(default="lakeshop", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    schema_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_]*$")
    engine: Literal["duckdb"] = "duckdb"
    threads: int | None = Field(default=None, ge=1)


class ProjectConfig(BaseModel):
    """The contents of ``lakeshop.yml``."""

    model_config = ConfigDict(extra="forbid")
    name: str = "lakeshop"
    landing: str = "landing"
    default_target: str = "dev"
    targets: dict[str, Target] = {"dev": Target()}
    sources: dict[str, Source] = {}


@dataclass
class Project:
    """A loaded project: its folder, configuration, sources and table graph."""

    directory: Path
    config: ProjectConfig
    sources: dict[str, Source]
    graph: Graph

    @classmethod
    def load(cls, directory: Path) -> Project:
        """Read ``lakeshop.yml`` from ``directory`` (all defaults when it is absent)."""
        directory = directory.resolve()
        path = directory / CONFIG_FILE
        raw: Any = {}
        if path.exists():
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ConfigError("(file)", "valid YAML", str(exc).splitlines()[0], str(path)) from exc
            if not isinstance(raw, dict):
                raise ConfigError("(top level)", "a mapping of settings", type(raw).__name__, str(path))
        try:
            config = ProjectConfig.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "str", "Const", "Expr")))
            raise ConfigError(key or "(top level)", err["msg"].lower(), err.get("input"), str(path)) from exc
        if config.default_target not in config.targets:
            raise ConfigError(
                "default_target", f"one of the targets {sorted(config.targets)}", config.default_target, str(path)
            )
        return cls(directory, config, _sources(config, str(path)), Graph.build(pipeline.tables()))

    @property
    def landing(self) -> Path:
        return (self.directory / self.config.landing).resolve()

    def target(self, name: str | None = None) -> tuple[str, Target]:
        """The named target, or the default one."""
        name = name or self.config.default_target
        if name not in self.config.targets:
            raise ConfigError("--target", f"one of {sorted(self.config.targets)}", name)
        return name, self.config.targets[name]

    def lakehouse(self, target: str | None = None) -> Lakehouse:
        _, t = self.target(target)
        return Lakehouse((self.directory / t.root).resolve(), t.catalog, t.schema_prefix)

    def engine(self, target: str | None = None) -> Engine:
        """The target's engine, opened on its lakehouse."""
        from lakeshop.engines.duckdb import DuckDBEngine

        _, t = self.target(target)
        return DuckDBEngine(self.lakehouse(target), threads=t.threads)


def _sources(config: ProjectConfig, file: str) -> dict[str, Source]:
    unknown = sorted(set(config.sources) - set(contract.SOURCES))
    if unknown:
        raise ConfigError(
            f"sources.{unknown[0]}", f"one of the contract's sources: {', '.join(contract.SOURCES)}", file=file
        )
    out = {}
    for name, spec in contract.SOURCES.items():
        given = config.sources.get(name)
        src = given.model_copy() if given else Source(path=spec.default_path, format=spec.format)
        src.name, src.fields, src.required = name, list(spec.fields), list(spec.required)
        check_mapping(src, file)
        out[name] = src
    return out


def write_demo_config(directory: Path) -> Path:
    """Write a ``lakeshop.yml`` for generated landing files (every source at its default path)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "demo-retailer",
        "landing": "landing",
        "default_target": "dev",
        "targets": {"dev": {"root": "lakehouse", "catalog": "lakeshop"}},
        "sources": {
            name: {"path": spec.default_path, "format": spec.format}
            for name, spec in contract.SOURCES.items()
        },
    }
    path = directory / CONFIG_FILE
    path.write_text(
        "# lakeshop project: where landing files are, how to read them, where tables go.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return path

"""Engines by name: what each can do (its :class:`Capabilities`, as data) and where its class
lives, imported only when that engine is opened (pyspark is never loaded for DuckDB).

Light on purpose: the CLI reads :data:`EngineName` for its ``--engine`` choices.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from lakeshop.core.errors import ConfigError
from lakeshop.engines.capabilities import Capabilities

if TYPE_CHECKING:
    from lakeshop.engines.base import Engine
    from lakeshop.engines.lakehouse import Lakehouse

#: the registered engines' names: the type of a target's ``engine`` setting and of ``--engine``
EngineName = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Registration:
    """One engine: its capabilities, and its :class:`Engine` class as ``module:attribute``."""

    capabilities: Capabilities
    factory: str

    def load(self) -> type[Engine]:
        """The engine's class (its module imported now, on first use)."""
        module, _, attribute = self.factory.partition(":")
        engine: type[Engine] = getattr(importlib.import_module(module), attribute)
        return engine


ENGINES: dict[str, Registration] = {
    "duckdb": Registration(
        Capabilities(name="duckdb", sqlglot_dialect="duckdb"),
        "lakeshop.engines.duckdb.engine:DuckDBEngine",
    ),
    "spark": Registration(
        Capabilities(name="spark", sqlglot_dialect="spark"),
        "lakeshop.engines.spark.engine:SparkEngine",
    ),
}


def names() -> tuple[EngineName, ...]:
    """The registered engines' names, in the order they are offered."""
    return get_args(EngineName)


def capabilities(name: str) -> Capabilities:
    """What the engine ``name`` can do, without importing it."""
    return _registration(name).capabilities


def open_engine(name: str, lakehouse: Lakehouse, **options: Any) -> Engine:
    """The engine ``name`` opened on ``lakehouse``; ``options`` are its own settings."""
    return _registration(name).load()(lakehouse, **options)


def _registration(name: str) -> Registration:
    registration = ENGINES.get(name)
    if registration is None:
        raise ConfigError("engine", f"one of {', '.join(ENGINES)}", name)
    return registration

"""What an engine can do, as data: read by the registry, the runner and the engine itself.

A module of its own, free of heavy imports, so that the registry (and the CLI's ``--engine``
choices) can know every engine without loading any.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, as data (the runner reads it, never the engine's type)."""

    name: str
    #: the SQLGlot dialect the engine executes: the pipeline's SQL (DuckDB's dialect) is
    #: transpiled to it when it differs
    sqlglot_dialect: str

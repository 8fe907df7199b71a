"""lakeshop: a retail sales lakehouse on DuckDB and Delta Lake.

What a notebook needs, from the top package (each name imported on first use, so that
``import lakeshop`` and ``lakeshop --help`` load no engine)::

    import lakeshop
    from pathlib import Path

    lakeshop.generate(Path("shop/landing"), days=7, scale=0.1)
    project = lakeshop.Project.load(Path("shop"))  # lakeshop.yml, or every default
    summary = lakeshop.run(project)
    lakeshop.query(project, "SELECT * FROM gold.agg_daily_sales ORDER BY sales_date")
    lakeshop.report(project, Path("shop/report.html"))

Everything else lives in the subpackages and may move; these names stay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lakeshop.core.version import __version__

#: public name -> (module, attribute) it stands for
_EXPORTS: dict[str, tuple[str, str]] = {
    "Project": ("lakeshop.app.project", "Project"),
    "run": ("lakeshop.app.api", "run"),
    "replay": ("lakeshop.app.api", "replay"),
    "query": ("lakeshop.app.api", "query"),
    "status": ("lakeshop.app.api", "status"),
    "quality": ("lakeshop.app.api", "quality"),
    "check_alerts": ("lakeshop.app.api", "check_alerts"),
    "history": ("lakeshop.observe.history", "history"),
    "report": ("lakeshop.observe.report", "write"),
    "generate": ("lakeshop.datagen", "generate"),
}

__all__ = [
    "Project",
    "__version__",
    "check_alerts",
    "generate",
    "history",
    "quality",
    "query",
    "replay",
    "report",
    "run",
    "status",
]

if TYPE_CHECKING:
    from lakeshop.app.api import check_alerts, quality, query, replay, run, status
    from lakeshop.app.project import Project
    from lakeshop.datagen import generate
    from lakeshop.observe.history import history
    from lakeshop.observe.report import write as report


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (then the name is a plain attribute)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lakeshop' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

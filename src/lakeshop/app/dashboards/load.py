"""Reading a project's ``dashboards/*.yml``, and the defaults ``lakeshop demo`` writes.

A project without a ``dashboards/`` folder is served the packaged defaults (Sales, Products,
Customers, Payments, Operations, Catalog). Each file is one page, named by its file name.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lakeshop.app.dashboards.model import Dashboard
from lakeshop.core.errors import ConfigError

DASHBOARDS_DIR = "dashboards"
DEFAULTS = Path(__file__).with_name("defaults")


def dashboards_dir(directory: Path) -> Path:
    return directory / DASHBOARDS_DIR


def load_dashboards(directory: Path) -> dict[str, Dashboard]:
    """The project's dashboards by name (its ``dashboards/*.yml``, else the defaults), in
    navigation order."""
    folder = dashboards_dir(directory)
    files = sorted(folder.glob("*.yml")) if folder.is_dir() else []
    if not files:
        files = sorted(DEFAULTS.glob("*.yml"))
    pages = {path.stem: load_dashboard(path) for path in files}
    return dict(sorted(pages.items(), key=lambda item: (item[1].order, item[0])))


def load_dashboard(path: Path) -> Dashboard:
    """One dashboard file; a mistake is a :class:`ConfigError` naming the file and setting."""
    file = str(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("(YAML syntax)", "valid YAML", str(exc).splitlines()[0], file) from exc
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "a mapping with title, filters, tiles", None, file)
    try:
        return Dashboard.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(page)"
        message = str(first["msg"]).removeprefix("Value error, ")
        found = first.get("input") if first["type"] != "value_error" else None
        if isinstance(found, dict | list):
            found = None  # a whole mapping says less than the message
        raise ConfigError(key, message, found, file) from exc


def write_default_dashboards(directory: Path, *, overwrite: bool = False) -> Path:
    """Copy the packaged dashboards into ``directory/dashboards`` (kept when present)."""
    folder = dashboards_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(DEFAULTS.glob("*.yml")):
        dest = folder / source.name
        if overwrite or not dest.exists():
            shutil.copyfile(source, dest)
    return folder

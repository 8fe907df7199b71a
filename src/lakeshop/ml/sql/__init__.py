"""The queries over gold that the models read (one per file, through the app's read path)."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).parent


def load(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")

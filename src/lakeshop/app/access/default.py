"""The example ``access.yml`` ``lakeshop demo`` writes (``default.yml``, with its comments)."""

from __future__ import annotations

from pathlib import Path

from lakeshop.app.access.policy import policy_path

DEFAULT = Path(__file__).with_name("default.yml")


def write_default_policy(directory: Path, *, overwrite: bool = False) -> Path:
    """Write the example policy in ``directory`` (kept when one exists, unless ``overwrite``)."""
    path = policy_path(directory)
    if overwrite or not path.exists():
        path.write_text(DEFAULT.read_text())
    return path

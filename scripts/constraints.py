"""Print the pins of lakeshop's dependencies and its dev extra, as installed here.

``./dev`` installs with ``pip install -c constraints.txt -e '.[dev]'``; after a change of
dependencies (pyproject.toml), refresh the file from a working environment::

    .venv/bin/python scripts/constraints.py > constraints.txt
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def pins(root: str = "lakeshop", extras: frozenset[str] = frozenset({"dev"})) -> dict[str, str]:
    """Installed version of every distribution ``root[extras]`` needs, directly or not."""
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        try:
            dist = distribution(name)
        except PackageNotFoundError:  # a requirement whose marker excludes this platform
            continue
        if key != canonicalize_name(root):
            found[key] = dist.version
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted | {""}):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return found


if __name__ == "__main__":
    print("# pins for lakeshop[dev] (generated: python scripts/constraints.py > constraints.txt)")
    for name, version in sorted(pins().items()):
        print(f"{name}=={version}")

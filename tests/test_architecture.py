"""The architecture as a test: import-linter's contracts in pyproject.toml hold, and they bite.

The contracts: the layers of DESIGN §1 (each package imports only the ones below it), no
import cycles between the modules of a package, and pyspark, duckdb, deltalake, plotly,
psycopg, statsforecast, scikit-learn, lightgbm and mlflow imported only at their homes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` with ``project``'s configuration over the package in ``source``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "added", "broken", "reported"),
    [
        (
            "engines/base.py",
            "import lakeshop.app.api",
            "Layers: each package imports only the ones below it",
            "lakeshop.engines.base -> lakeshop.app.api",
        ),
        (
            "pipeline/model.py",
            "import lakeshop.pipeline.graph",
            "No import cycles between the modules of a package",
            "No cycles are allowed in lakeshop.pipeline",
        ),
        (
            "app/api.py",
            "import pyspark",
            "pyspark is imported only in lakeshop.engines.spark",
            "lakeshop.app.api -> pyspark",
        ),
        (
            "app/api.py",
            "import psycopg",
            "psycopg is imported only in lakeshop.app.sync",
            "lakeshop.app.api -> psycopg",
        ),
        (
            "observe/history.py",
            "import sklearn",
            "ML libraries (statsforecast, sklearn, lightgbm, mlflow) only in lakeshop.ml",
            "lakeshop.observe.history -> sklearn",
        ),
        (
            "ml/data.py",
            "import lakeshop.observe.history",
            "Layers: each package imports only the ones below it",
            "lakeshop.ml.data -> lakeshop.observe.history",
        ),
    ],
    ids=[
        "upward",
        "cycle",
        "pyspark-away-from-home",
        "psycopg-away-from-home",
        "sklearn-away-from-home",
        "ml-beside-observe",
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, added: str, broken: str, reported: str
) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "lakeshop",
        source / "lakeshop",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = source / "lakeshop" / module
    path.write_text(path.read_text() + f"\n{added}  # noqa: E402\n")

    result = lint_imports(tmp_path, source)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout
    assert reported in result.stdout

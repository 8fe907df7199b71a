"""Shared fixtures: a generated retailer and projects over copies of its landing files."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.doctor import examine
from lakeshop.pipeline.graph import Graph
from tests.receivers import Smtp, Webhook

DAYS = 4


@pytest.fixture(scope="session")
def retailer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of a small retailer with a high defect rate (read-only: copy before use)."""
    out = tmp_path_factory.mktemp("retailer") / "landing"
    generate(out, days=DAYS, scale=0.05, seed=7, defects=0.05)
    return out


@pytest.fixture(scope="session")
def clean_retailer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of a small retailer without defects."""
    out = tmp_path_factory.mktemp("clean") / "landing"
    generate(out, days=3, scale=0.05, seed=11, defects=0.0)
    return out


def copy_days(src: Path, dest: Path, days: list[str]) -> list[Path]:
    """Copy the landing files of the given dates (YYYY-MM-DD) into ``dest``; returns them."""
    copied = []
    for path in sorted(src.rglob("*")):
        if path.is_file() and any(f"_{d}" in path.name for d in days):
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(target)
    return copied


def default_orphans(directory: Path, **settings: object) -> None:
    """Make the project's ``lakeshop.yml`` (written by ``write_demo_config``) use the default
    orphan-key settings, or ``settings`` (e.g. ``hold_days=1``), instead of the generated
    retailer's ``hold`` for every relation."""
    import yaml

    config_file = directory / "lakeshop.yml"
    config = yaml.safe_load(config_file.read_text())
    config.pop("orphans", None)
    if settings:
        config["orphans"] = settings
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def project_factory(tmp_path: Path) -> Callable[[Path], Project]:
    """A project in a fresh folder whose landing is a copy of ``landing``."""

    def make(landing: Path) -> Project:
        shutil.copytree(landing, tmp_path / "landing", dirs_exist_ok=True)
        write_demo_config(tmp_path)
        return Project.load(tmp_path)

    return make


def cli(*args: str | Path) -> tuple[int, str, str]:
    """Run the ``lakeshop`` CLI in-process: exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from lakeshop.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line a failing command prints, with no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


def assert_healthy(graph: Graph | Project, lakehouse: Lakehouse | None = None) -> None:
    """``lakeshop doctor``'s checks pass on the lakehouse (every test scenario ends healthy)."""
    if isinstance(graph, Project):
        graph, lakehouse = graph.graph, graph.lakehouse()
    assert lakehouse is not None
    with DuckDBEngine(lakehouse) as engine:
        diagnosis = examine(graph, engine)
    assert diagnosis.problems == [], diagnosis.problems
    assert sum(c.checked for c in diagnosis.checks) > 0  # it looked at something


@pytest.fixture(scope="session")
def observed(retailer: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project with two runs over ``retailer`` (days 1-2, then 3-4): gold, quarantined rows,
    expectations and a run history (read-only: copy the folder before writing to it)."""
    directory = tmp_path_factory.mktemp("observed")
    write_demo_config(directory)
    project = Project.load(directory)
    copy_days(retailer, project.landing, ["2026-01-01", "2026-01-02"])
    assert api.run(project).status == "ok"
    copy_days(retailer, project.landing, ["2026-01-03", "2026-01-04"])
    assert api.run(project).status == "ok"
    return project


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A webhook receiver on localhost answering 200."""
    hook = Webhook().start()
    yield hook
    hook.stop()


@pytest.fixture
def smtp_server() -> Iterator[Smtp]:
    """An SMTP server on localhost (aiosmtpd) that requires a login."""
    server = Smtp().start()
    yield server
    server.stop()

"""Shared fixtures: generated retailers and demo lakehouses (built once per session and
parameters), projects over copies of their files, and the tiers' guard (only tests marked
``spark`` may start a JVM)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.doctor import examine
from lakeshop.pipeline.graph import Graph
from tests import pgserver
from tests.receivers import Smtp, Webhook

#: fixtures kept beside the servers they start: s3 and on_s3 (moto on loopback)
pytest_plugins = ["tests.s3server"]

DAYS = 4


#: the tiers, the longest-running first: a file's tests run in the order of its heaviest tier
#: (``./dev`` hands whole files to the workers in collection order, ``--no-loadscope-reorder``),
#: so the few long end-to-end tests start side by side at the beginning instead of one of them
#: running alone at the end while the other worker waits
TIERS = ("cluster", "spark", "slow", "browser", "postgres", "ml")


def _tier(item: pytest.Item) -> int:
    """The rank of the item's heaviest tier (0: the heaviest; len(TIERS): none)."""
    marks = {mark.name for mark in item.iter_markers()}
    return next((i for i, tier in enumerate(TIERS) if tier in marks), len(TIERS))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Heaviest files first (:data:`TIERS`). A test taking the ``spark`` fixture starts a JVM:
    it must be marked ``spark``, so that ``./dev fast`` leaves it out."""
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, len(TIERS)), _tier(item))
    items.sort(key=lambda item: rank[item.path])  # stable: each file's tests stay in order
    unmarked = [
        item.nodeid
        for item in items
        if "spark" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("spark")
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests take the spark fixture but are not marked @pytest.mark.spark: "
            + ", ".join(unmarked)
        )


@pytest.fixture(autouse=True)
def _no_jvm_unless_marked_spark(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """Outside tests marked ``spark``, pyspark cannot be imported: a test that would start a
    JVM fails instead (``./dev fast`` runs without Java)."""
    if request.node.get_closest_marker("spark") is None:
        monkeypatch.setitem(sys.modules, "pyspark", None)


@dataclass(frozen=True)
class Demo:
    """A lakehouse built by ``lakeshop demo`` (read-only: tests that write use a copy)."""

    directory: Path
    #: what the command printed
    output: str


class Prebuilt:
    """Generated retailers and demo lakehouses, each built once per test session (per xdist
    worker) and set of parameters; shared read-only, copied for tests that write."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._retailers: dict[tuple[int, float, int, float], Path] = {}
        self._demos: dict[tuple[float, int], Demo] = {}

    def retailer(self, *, days: int, scale: float, seed: int, defects: float) -> Path:
        """The landing files of a generated retailer (read-only: copy before use)."""
        key = (days, scale, seed, defects)
        if key not in self._retailers:
            out = self._tmp.mktemp(f"retailer-{days}d-{scale}-{seed}-{defects}") / "landing"
            generate(out, days=days, scale=scale, seed=seed, defects=defects)
            self._retailers[key] = out
        return self._retailers[key]

    def demo(self, *, scale: float = 0.02, days: int = 6) -> Demo:
        """``lakeshop demo --scale SCALE --days DAYS``: generated files, every table, a report
        (the CLI, analytics and doctor tests share the default one)."""
        key = (scale, days)
        if key not in self._demos:
            directory = self._tmp.mktemp(f"demo-{days}d-{scale}") / "demo"
            code, out, err = cli("demo", "--dir", directory, "--scale", scale, "--days", days)
            assert code == 0, out + err
            self._demos[key] = Demo(directory, out)
        return self._demos[key]

    def demo_copy(self, dest: Path, *, scale: float = 0.02, days: int = 6) -> Path:
        """A copy of the demo lakehouse at ``dest``, for a test that writes to it."""
        shutil.copytree(self.demo(scale=scale, days=days).directory, dest, symlinks=True)
        return dest


@pytest.fixture(scope="session")
def prebuilt(tmp_path_factory: pytest.TempPathFactory) -> Prebuilt:
    return Prebuilt(tmp_path_factory)


@pytest.fixture(scope="session")
def retailer(prebuilt: Prebuilt) -> Path:
    """Four days of a small retailer with a high defect rate (read-only: copy before use)."""
    return prebuilt.retailer(days=DAYS, scale=0.05, seed=7, defects=0.05)


@pytest.fixture(scope="session")
def clean_retailer(prebuilt: Prebuilt) -> Path:
    """Three days of a small retailer without defects."""
    return prebuilt.retailer(days=3, scale=0.05, seed=11, defects=0.0)


def engine_config(directory: Path, engine: str = "spark", **spark: Any) -> Path:
    """Write the demo project's ``lakeshop.yml`` in ``directory`` with its dev target on
    ``engine`` (and these ``spark`` settings, when given); returns the file."""
    write_demo_config(directory)
    config_file = directory / "lakeshop.yml"
    config = yaml.safe_load(config_file.read_text())
    config["targets"]["dev"]["engine"] = engine
    if spark:
        config["targets"]["dev"]["spark"] = spark
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_file


def imported_by(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return sorted(json.loads(out.stdout))


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


#: a process holding a project's writer lock: prints "locked", sleeps, releases
LOCK_HOLDER = """
import sys, time
from pathlib import Path
from lakeshop.app import api
from lakeshop.app.project import Project
project = Project.load(Path(sys.argv[1]))
with api.writer_lock_of(project, None, purpose="test holder"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def lock_holders() -> Iterator[Callable[[Path, float], subprocess.Popen[str]]]:
    """Start processes that hold a project's writer lock for some seconds (returned once
    they hold it); killed at the end of the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(directory: Path, seconds: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(directory), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def cli(*args: object) -> tuple[int, str, str]:
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
        lakehouse = graph.lakehouse()
        graph = graph.graph
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
    assert api.run(project).summary.status == "ok"
    copy_days(retailer, project.landing, ["2026-01-03", "2026-01-04"])
    assert api.run(project).summary.status == "ok"
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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """A real PostgreSQL server (tests marked ``postgres``): fails, never skips, when
    PostgreSQL is not installed."""
    try:
        server = pgserver.start()
    except Exception as exc:  # not installed, or it would not start: say so loudly
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(
            f"PostgreSQL could not be started: {exc} {detail.decode(errors='replace')}",
            pytrace=False,
        )
    yield server
    pgserver.stop(server)


@pytest.fixture
def pg_dsn(pg_server: pgserver.PgServer, request: pytest.FixtureRequest, monkeypatch: Any) -> str:
    """A fresh database for the test; its connection string is in $LAKESHOP_POSTGRES_DSN."""
    import hashlib

    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    dsn = pg_server.create_database(name)
    monkeypatch.setenv("LAKESHOP_POSTGRES_DSN", dsn)
    return dsn

"""``lakeshop migrate``: a lakehouse of an older lakeshop is refused by writers with one line,
upgraded, then runs; one of a newer lakeshop is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from lakeshop.app.project import Project
from lakeshop.pipeline import lakeformat, system
from lakeshop.pipeline.lakeformat import FORMAT_VERSION
from tests.conftest import assert_healthy, cli, one_error_line

REPO = Path(__file__).parents[2]
#: the commit issue 19 started from: the last lakeshop that recorded no format
STARTING_COMMIT = "3ea946e0c0aa340654d8ba6fbc32ce2ac03a9d5f"


def _formats(project: Project) -> list[tuple[int, str]]:
    rows = system.read(project.lakehouse(), system.FORMAT).to_pylist()
    return [(r["format_version"], r["note"]) for r in rows]


def _check_refused_then_migrated(directory: Path) -> None:
    project = Project.load(directory)
    assert lakeformat.version(project.lakehouse()) == 0
    for command in (["run"], ["maintain"]):
        code, _, stderr = cli("--project", directory, *command)
        line = one_error_line(stderr)
        assert code == 2, stderr
        assert "written by an older lakeshop" in line and "lakeshop migrate --target dev" in line

    code, out, stderr = cli("--project", directory, "migrate")
    assert code == 0, stderr
    assert "format 0 → 1: " in out and out.strip().endswith(f"format {FORMAT_VERSION}")
    lakehouse = Project.load(directory).lakehouse()
    assert lakeformat.version(lakehouse) == FORMAT_VERSION
    for name, schema in system.SCHEMAS.items():  # every _system table, every column
        assert lakehouse.schema(name).names[: len(schema.names)] == schema.names, name

    code, out, stderr = cli("--project", directory, "migrate")
    assert code == 0 and "nothing to migrate" in out
    code, _, stderr = cli("--project", directory, "run")
    assert code in (0, 3), stderr
    assert_healthy(Project.load(directory))


def test_an_old_lakehouse_is_refused_then_migrated(prebuilt, tmp_path: Path) -> None:
    directory = prebuilt.demo_copy(tmp_path / "demo")
    project = Project.load(directory)
    lakehouse = project.lakehouse()
    assert _formats(project) == [(FORMAT_VERSION, "created")]
    runs_before = system.read(lakehouse, system.RUNS).num_rows
    # as an older lakeshop left it: no format, no _system.sync, runs without later columns
    shutil.rmtree(lakehouse.path(system.FORMAT))
    shutil.rmtree(lakehouse.path(system.SYNC))
    runs = lakehouse.read(system.RUNS).drop_columns(["files_refused", "unmatched_files"])
    lakehouse.write(system.RUNS, runs, "overwrite")
    assert "unmatched_files" not in lakehouse.schema(system.RUNS).names

    _check_refused_then_migrated(directory)
    lakehouse = Project.load(directory).lakehouse()
    assert system.read(lakehouse, system.RUNS).num_rows > runs_before  # kept, and one more
    notes = [n for _, n in _formats(Project.load(directory))]
    assert len(notes) == 1 and "created _system.sync" in notes[0]
    assert "_system.runs + files_refused, unmatched_files" in notes[0]


def test_a_newer_lakehouse_is_refused(prebuilt, tmp_path: Path) -> None:
    directory = prebuilt.demo_copy(tmp_path / "demo")
    lakeformat.record(Project.load(directory).lakehouse(), FORMAT_VERSION + 1, "the future")
    for command in ("run", "migrate"):
        code, _, stderr = cli("--project", directory, command)
        line = one_error_line(stderr)
        assert code == 2 and f"at format {FORMAT_VERSION + 1}" in line
        assert "upgrade lakeshop" in line


def test_migrate_on_an_empty_target_says_the_first_run_creates_it(tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text("targets: {dev: {root: lakehouse}}\n")
    code, out, stderr = cli("--project", tmp_path, "migrate")
    assert code == 0, stderr
    assert f"the first run creates format {FORMAT_VERSION}" in out


@pytest.mark.slow
def test_a_lakehouse_built_by_the_starting_commit_migrates(tmp_path: Path) -> None:
    """The lakeshop of issue 19's starting commit builds a demo; this one migrates it."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", STARTING_COMMIT, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tmp_path / "old", filter="data")
    env = os.environ | {"PYTHONPATH": str(tmp_path / "old" / "src")}
    which = subprocess.run(
        [sys.executable, "-c", "import lakeshop; print(lakeshop.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert which.stdout.startswith(str(tmp_path / "old"))  # the old code, not this one
    demo = tmp_path / "demo"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakeshop.cli",
            "demo",
            "--dir",
            str(demo),
            "--scale",
            "0.02",
            "--days",
            "3",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert not Project.load(demo).lakehouse().exists(system.FORMAT)
    _check_refused_then_migrated(demo)

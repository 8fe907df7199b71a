"""Releases: the version comes from git tags, and ``./dev release`` builds a wheel that
installs in a fresh venv with the pinned versions and runs the demo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshop.app.project import Project
from lakeshop.pipeline import system

REPO = Path(__file__).parents[1]


@pytest.mark.slow
def test_a_tag_is_the_version(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "tag", "v9.8.7"], check=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(clone)],
        check=True,
        capture_output=True,
    )
    assert [p.name for p in (tmp_path / "dist").iterdir()] == ["lakeshop-9.8.7-py3-none-any.whl"]


@pytest.mark.slow
def test_dev_release_installs_the_wheel_in_a_fresh_venv_and_runs_the_demo() -> None:
    done = subprocess.run(
        [str(REPO / "dev"), "release"], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"^release (\S+): (.*)$", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:]
    version = found.group(1)
    assert sorted(p.name for p in (REPO / "dist").iterdir()) == [
        f"lakeshop-{version}-py3-none-any.whl",
        f"lakeshop-{version}.tar.gz",
    ]
    # the demo ran from the installed wheel: its runs are recorded with the wheel's version
    demo = Project.load(REPO / "build" / "release" / "demo")
    runs = system.read(demo.lakehouse(), system.RUNS).to_pylist()
    assert runs and {r["lakeshop_version"] for r in runs} == {version}
    assert {r["status"] for r in runs} == {"running", "ok"}
    venv = REPO / "build" / "release" / "venv"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import lakeshop; print(lakeshop.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO / "build" / "release",
    )
    assert where.stdout.startswith(str(venv))
    # docs/gold.md is in the wheel: the catalog's and the sync's definitions work when installed
    page = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from lakeshop.retail.docs import gold_page as g; print(len(g()))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO / "build" / "release",
    )
    assert int(page.stdout) == len((REPO / "docs" / "gold.md").read_text("utf-8"))

"""A full disk during the first commits (issue 16, problem 3), on a small tmpfs the test
mounts: the run fails naming the disk (no Rust panic on the console), leaves no table that
readers or the next run choke on, and once space is freed the next run completes to exactly
what an undisturbed run gives."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lakeshop.app.project import Project, write_demo_config
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, snapshot
from tests.conftest import copy_days

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (needs root or CAP_SYS_ADMIN: fails loudly otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_full_disk_during_first_commits_is_named_and_repaired(
    tmp_path: Path, retailer: Path, small_disk: Path
) -> None:
    base, calm = tmp_path / "base", tmp_path / "calm"
    copy_days(retailer, base / "landing", ["2026-01-01"])
    write_demo_config(base)
    shutil.copytree(base, calm)
    config = yaml.safe_load((base / "lakeshop.yml").read_text())
    config["targets"]["dev"]["root"] = str(small_disk / "lakehouse")
    (base / "lakeshop.yml").write_text(yaml.safe_dump(config))

    full = run_cli(base, "run")
    said = full.stdout + full.stderr
    assert full.returncode not in (0, 3), said
    assert "no space left on device at" in said, said[-3000:]
    assert "panicked" not in said and "Traceback" not in said, said[-3000:]
    assert "Failed to parse parquet" not in said

    # space freed: doctor --repair, then the next run completes
    subprocess.run(["mount", "-o", "remount,size=512m", "tmpfs", str(small_disk)], check=True)
    repaired = run_cli(base, "doctor", "--repair")
    assert "Traceback" not in repaired.stderr, repaired.stderr
    again = run_cli(base, "run")
    assert again.returncode in (0, 3), again.stdout[-3000:] + again.stderr[-3000:]
    assert run_cli(calm, "run").returncode in (0, 3)
    project = Project.load(base)
    assert diagnose(project).problems == []
    assert compare(snapshot(Project.load(calm)), snapshot(project)) == []


def test_an_empty_first_commit_is_no_table_and_the_next_run_recreates_it(
    tmp_path: Path, retailer: Path
) -> None:
    copy_days(retailer, tmp_path / "landing", ["2026-01-01"])
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    assert run_cli(tmp_path, "run").returncode in (0, 3)
    lakehouse = project.lakehouse()
    folder = lakehouse.path("gold.fact_orders")
    shutil.rmtree(folder)
    (folder / "_delta_log").mkdir(parents=True)  # what a first commit cut short left
    (folder / "_delta_log" / f"{0:020d}.json").write_bytes(b"")
    assert not lakehouse.exists("gold.fact_orders")
    assert "gold.fact_orders" not in lakehouse.tables()
    doctor = run_cli(tmp_path, "doctor")
    assert doctor.returncode == 1 and "table logs" in doctor.stdout, doctor.stdout
    assert run_cli(tmp_path, "run", "--full-refresh").returncode in (0, 3)
    assert lakehouse.exists("gold.fact_orders") and lakehouse.read("gold.fact_orders").num_rows
    assert diagnose(project).problems == []

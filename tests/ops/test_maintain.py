"""``lakeshop maintain``: fewer files, same data, time travel within the retention, doctor ok."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.maintain import maintain
from lakeshop.pipeline.lock import writer_lock
from tests.conftest import cli, copy_days, one_error_line

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


def contents(table: pa.Table) -> Counter[tuple[str, ...]]:
    """The rows of a table as a multiset (order and file layout do not matter)."""
    return Counter(tuple(repr(v) for v in row.values()) for row in table.to_pylist())


def snapshot(lakehouse: Lakehouse) -> dict[str, Counter[tuple[str, ...]]]:
    return {name: contents(lakehouse.read(name)) for name in lakehouse.tables()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, retailer: Path) -> Path:
    """A project after one run per day over three days (many small files); copy it."""
    directory = tmp_path_factory.mktemp("maintain")
    write_demo_config(directory)
    project = Project.load(directory)
    for day in DAYS:
        copy_days(retailer, project.landing, [day])
        assert api.run(project).summary.status == "ok"
    return directory


@pytest.fixture
def incremental(built: Path, tmp_path: Path) -> Project:
    shutil.copytree(built, tmp_path / "project")
    return Project.load(tmp_path / "project")


def test_maintain_compacts_keeps_data_and_time_travel(incremental: Project) -> None:
    lakehouse = incremental.lakehouse()
    before = snapshot(lakehouse)
    versions = {name: lakehouse.version(name) for name in before}
    files = {name: len(lakehouse.delta(name).file_uris()) for name in before}

    code, out, stderr = cli("--project", incremental.directory, "maintain")
    assert code == 0, stderr
    assert "silver.payments" in out and "files_before" in out
    assert out.strip().splitlines()[-1].startswith(f"maintained {len(before)} tables: ")

    after = {name: len(lakehouse.delta(name).file_uris()) for name in before}
    assert after["_system.events"] < files["_system.events"]
    assert after["silver.payments"] < files["silver.payments"]
    assert all(after[n] <= files[n] for n in files)
    assert snapshot(lakehouse) == before
    # every version before maintenance is younger than the retention: still readable
    for name in ("silver.payments", "gold.fact_sales", "_system.events"):
        old = lakehouse.delta(name, version=versions[name])
        assert contents(old.to_pyarrow_table()) == before[name]
        lakehouse.delta(name, version=0).to_pyarrow_table()  # the oldest one too

    code, out, _ = cli("--project", incremental.directory, "doctor")
    assert code == 0, out


@pytest.mark.slow  # more runs after maintenance; the other tests here maintain in the fast tier
def test_incremental_runs_go_on_after_maintenance(
    incremental: Project, retailer: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    maintain(incremental)
    maintain(incremental)  # twice: nothing left to compact, no commit without watermarks
    copy_days(retailer, incremental.landing, ["2026-01-04"])
    assert api.run(incremental).summary.status == "ok"

    straight = tmp_path_factory.mktemp("straight")
    write_demo_config(straight)
    reference = Project.load(straight)
    copy_days(retailer, reference.landing, [*DAYS, "2026-01-04"])
    assert api.run(reference).summary.status == "ok"  # one run over the same files
    for name in ("silver.orders", "silver.payments", "gold.fact_sales", "gold.agg_daily_sales"):
        got, expected = incremental.lakehouse().read(name), reference.lakehouse().read(name)
        business = [c for c in expected.column_names if not c.startswith("_")]  # no audit columns
        assert contents(got.select(business)) == contents(expected.select(business)), name
    code, out, _ = cli("--project", incremental.directory, "doctor")
    assert code == 0, out


def test_explicit_short_retention_vacuums_replaced_files(incremental: Project) -> None:
    lakehouse = incremental.lakehouse()
    before = snapshot(lakehouse)
    done = {t.name: t for t in maintain(incremental, retention_hours=0)}
    assert done["silver.payments"].files_removed > 0
    assert sum(t.bytes_removed for t in done.values()) > 0
    assert snapshot(lakehouse) == before
    files = {p.name for p in lakehouse.path("silver.payments").glob("*.parquet")}
    assert {Path(u).name for u in lakehouse.delta("silver.payments").file_uris()} == files


def test_maintain_takes_the_writer_lock(incremental: Project) -> None:
    with writer_lock(incremental.lakehouse(), purpose="run"):
        code, _, stderr = cli("--project", incremental.directory, "maintain")
    assert code == 1
    assert "being written by a run (starting)" in one_error_line(stderr)

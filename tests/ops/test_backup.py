"""``lakeshop backup`` / ``restore`` and time travel: a disaster-recovery drill, incremental
copies, a backup taken while a real run writes, and ``lakeshop sql --as-of/--version``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import LakeshopError
from lakeshop.ops.backup import backup, manifests, restore
from lakeshop.pipeline import system
from lakeshop.pipeline.lock import holder
from tests.conftest import assert_healthy, cli, copy_days, one_error_line

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
#: columns that say when a row was processed, not what it holds: they differ between two
#: lakehouses that ran the same deliveries at other moments
_WHEN = ("_ingested_at", "ingested_at", "started_at", "ended_at", "fired_at", "duration_s")


def contents(table: pa.Table) -> Counter[tuple[str, ...]]:
    """The rows as a multiset, without the processing-time columns."""
    kept = [c for c in table.column_names if c not in _WHEN]
    return Counter(tuple(repr(v) for v in row.values()) for row in table.select(kept).to_pylist())


def data_state(project: Project) -> dict[str, Counter[tuple[str, ...]]]:
    """Every bronze, silver and gold table's rows (the run log's ids and times differ)."""
    lakehouse = project.lakehouse()
    return {
        name: contents(lakehouse.read(name))
        for name in lakehouse.tables()
        if not name.startswith("_system.")
    }


@pytest.mark.slow
def test_drill_restore_the_last_backup_then_the_days_since_equals_undisturbed(
    clean_retailer: Path, tmp_path: Path
) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    store = tmp_path / "backups"

    copy_days(clean_retailer, project.landing, DAYS[:1])
    assert api.run(project).summary.status == "ok"
    first = backup(project, store)
    assert first.files_copied == len(first.files) > 0
    assert set(first.tables) == set(project.lakehouse().tables())

    copy_days(clean_retailer, project.landing, DAYS[1:2])
    assert api.run(project).summary.status == "ok"
    code, out, stderr = cli("--project", tmp_path, "backup", "--to", store)
    assert code == 0, stderr
    second = manifests(store)[-1]
    assert f"backup {second.backup_id}: " in out
    # incremental: only what the second day added was copied
    assert 0 < second.files_copied < len(second.files)
    assert set(first.files) <= set(second.files)
    assert second.tables == {t: project.lakehouse().version(t) for t in second.tables}

    # the third day is delivered and run: the undisturbed lakehouse
    copy_days(clean_retailer, project.landing, DAYS[2:])
    third = api.run(project).summary
    assert third.status == "ok"
    undisturbed = data_state(project)
    runs_before = system.read(project.lakehouse(), system.RUNS).num_rows

    # disaster: the lakehouse is gone
    shutil.rmtree(project.lakehouse().root)
    project = Project.load(tmp_path)
    code, out, stderr = cli("--project", tmp_path, "restore", "--from", store)
    assert code == 0, stderr
    assert f"restored backup {second.backup_id}" in out
    lakehouse = project.lakehouse()
    assert {t: lakehouse.version(t) for t in second.tables} == second.tables
    assert_healthy(project)

    # the days delivered since the backup: their files are still in landing
    again = api.run(project).summary
    assert again.status == "ok"
    assert again.batch_id == third.batch_id
    assert data_state(project) == undisturbed
    assert system.read(project.lakehouse(), system.RUNS).num_rows == runs_before
    assert_healthy(project)


def test_restore_refuses_a_target_holding_tables_unless_forced(prebuilt, tmp_path: Path) -> None:
    directory = prebuilt.demo_copy(tmp_path / "demo")
    project = Project.load(directory)
    store = tmp_path / "backups"
    taken = backup(project, store)
    code, _, stderr = cli("--project", directory, "restore", "--from", store)
    assert code == 1
    assert "already holds tables" in one_error_line(stderr) and "--force" in stderr

    code, out, stderr = cli("--project", directory, "restore", "--from", store, "--force")
    assert code == 0, stderr
    assert "moved the target's earlier tables to " in out
    aside = next(project.lakehouse().root.glob("lakeshop.before-restore-*"))
    assert (aside / "gold").is_dir()
    lakehouse = Project.load(directory).lakehouse()
    assert {t: lakehouse.version(t) for t in taken.tables} == taken.tables

    # a file rewritten in place at the same size (the MLflow database) is copied again; the
    # Delta files, unchanged, are not
    mutable = project.lakehouse().root / "lakeshop" / "_mlflow" / "mlflow.db"
    mutable.parent.mkdir(parents=True, exist_ok=True)
    mutable.write_bytes(b"first")
    backup(project, store)
    mutable.write_bytes(b"other")
    os.utime(mutable, ns=(mutable.stat().st_atime_ns, mutable.stat().st_mtime_ns + 10**9))
    again = backup(project, store)
    assert again.files_copied == 1
    assert (store / "files" / "_mlflow" / "mlflow.db").read_bytes() == b"other"

    with pytest.raises(LakeshopError, match="no backup nope"):
        restore(project, store, backup_id="nope", force=True)
    code, _, stderr = cli("--project", directory, "restore", "--from", tmp_path / "none")
    assert "holds no backup" in one_error_line(stderr)


@pytest.mark.slow
def test_backup_taken_during_a_run_waits_for_it_and_holds_no_half_run(
    clean_retailer: Path, tmp_path: Path
) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(clean_retailer, project.landing, DAYS[:1])
    assert api.run(project).summary.status == "ok"
    copy_days(clean_retailer, project.landing, DAYS[1:])
    # a real run in another process
    child = subprocess.Popen(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(tmp_path), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while holder(project.lakehouse()) is None or holder(project.lakehouse()).run_id is None:  # type: ignore[union-attr]
            assert child.poll() is None, "the run ended before the backup started"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(LakeshopError, match="being written by run"):
            backup(project, tmp_path / "refused", wait=False)
        taken = backup(project, tmp_path / "backups")
        assert child.wait(timeout=120) == 0, child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
    # the backup waited: it holds the run whole, as committed
    assert taken.last_run is not None and taken.last_run["status"] == "ok"
    assert taken.tables == {t: project.lakehouse().version(t) for t in taken.tables}
    assert not (tmp_path / "refused" / "manifests").exists()
    target = tmp_path / "restored"
    target.mkdir()
    shutil.copy(tmp_path / "lakeshop.yml", target / "lakeshop.yml")
    restored = Project.load(target)
    restore(restored, tmp_path / "backups")
    runs = system.read(restored.lakehouse(), system.RUNS).to_pylist()
    assert {r["status"] for r in runs} == {"running", "ok"}
    assert all(any(o["run_id"] == r["run_id"] and o["status"] == "ok" for o in runs) for r in runs)
    assert_healthy(restored)


@pytest.mark.slow
def test_sql_as_of_and_version_read_tables_as_they_were(
    clean_retailer: Path, tmp_path: Path
) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(clean_retailer, project.landing, DAYS[:1])
    assert api.run(project).summary.status == "ok"
    count = "SELECT count(*) AS n FROM silver.orders"
    then = datetime.now(UTC)
    first = api.query(project, count).column("n")[0].as_py()
    version = project.lakehouse().version("silver.orders")
    time.sleep(0.05)
    copy_days(clean_retailer, project.landing, DAYS[1:])
    assert api.run(project).summary.status == "ok"
    now = api.query(project, count).column("n")[0].as_py()
    assert now > first > 0

    joined = (
        "SELECT count(*) AS n FROM silver.orders o "
        "JOIN gold.fact_orders f ON f.order_id = o.order_id"
    )
    assert api.query(project, count, as_of=then).column("n")[0].as_py() == first
    assert api.query(project, joined, as_of=then).column("n")[0].as_py() <= first
    assert api.query(project, count, version=version).column("n")[0].as_py() == first
    naive = then.astimezone(UTC).replace(tzinfo=None).isoformat()
    code, out, stderr = cli(
        "--project", tmp_path, "sql", count, "--as-of", naive, "--format", "json"
    )
    assert code == 0, stderr
    assert json.loads(out) == [{"n": first}]
    code, out, _ = cli("--project", tmp_path, "sql", count, "--version", version, "--format", "csv")
    assert out.split() == ['"n"', str(first)]

    # still the governed read path: refused SQL stays refused, in the past too
    code, _, stderr = cli(
        "--project", tmp_path, "sql", "COPY silver.orders TO 'x.csv'", "--as-of", naive
    )
    assert "query refused" in one_error_line(stderr)
    code, _, stderr = cli("--project", tmp_path, "sql", joined, "--version", "0")
    assert "a Delta version is one table's" in one_error_line(stderr)
    code, _, stderr = cli("--project", tmp_path, "sql", count, "--version", "999")
    assert "silver.orders has versions 0 to" in one_error_line(stderr)
    code, _, stderr = cli("--project", tmp_path, "sql", count, "--as-of", "2000-01-01")
    assert "silver.orders had no commit by then" in one_error_line(stderr)
    code, _, stderr = cli("--project", tmp_path, "sql", count, "--as-of", "yesterday")
    assert code == 2 and "--as-of" in stderr

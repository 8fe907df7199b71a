"""The whole pipeline with its lakehouse on S3 (moto's server on loopback, marker ``cluster``):
the same tables as on the local disk, replay, maintain and doctor there, one writer at a time
through the object-store lock, and the credentials in no output, table or object.

Two projects read copies of the same landing files, delivered day by day: one keeps its
lakehouse on the local disk, the other at ``s3://lake/<prefix>``; after each delivery both
are run by the CLI (a subprocess, configured only by the environment, as a user would).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from lakeshop.app.project import Project, write_demo_config
from lakeshop.ops import faults
from tests.conftest import Prebuilt, copy_days
from tests.s3server import SECRET, S3Server, SlowProxy

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

DAYS = ["2026-01-01", "2026-01-02"]
#: the CLI exits with this when another writer holds the target's lock
LOCK_HELD = 1


@dataclass
class Pair:
    local: Path
    remote: Path
    prefix: str
    outputs: list[str]


def lakeshop(directory: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``lakeshop --project DIR ARGS`` as a subprocess: exit code, stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(directory), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    return proc.returncode, proc.stdout + proc.stderr


def make_project(directory: Path, root: str) -> Path:
    write_demo_config(directory)
    config = yaml.safe_load((directory / "lakeshop.yml").read_text())
    config["targets"]["dev"]["root"] = root
    (directory / "lakeshop.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (directory / "landing").mkdir(exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def small_retailer(prebuilt: Prebuilt) -> Path:
    return prebuilt.retailer(days=len(DAYS), scale=0.01, seed=5, defects=0.02)


@pytest.fixture(scope="module")
def pair(s3: S3Server, small_retailer: Path, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """Both projects after every delivery and run (the S3 one's outputs kept)."""
    base = tmp_path_factory.mktemp("s3pair")
    prefix = f"shop-{uuid.uuid4().hex[:8]}"
    local = make_project(base / "local", "lakehouse")
    remote = make_project(base / "remote", f"s3://lake/{prefix}")
    outputs = []
    for day in DAYS:
        for project in (local, remote):
            copy_days(small_retailer, project / "landing", [day])
            code, out = lakeshop(project, "--debug", "run", env=s3.env())
            assert code in (0, 3), out  # 3: a defect refused a file (the same on both)
            if project is remote:
                outputs.append(out)
    return Pair(local, remote, prefix, outputs)


def test_the_pipeline_on_s3_builds_the_same_tables_as_on_local_disk(pair: Pair, on_s3: S3Server):
    local, remote = Project.load(pair.local), Project.load(pair.remote)
    assert not (pair.remote / "s3:").exists() and not (pair.remote / "lakehouse").exists()
    names = local.lakehouse().tables()
    assert remote.lakehouse().tables() == names and len(names) > 40
    assert faults.compare(faults.snapshot(local), faults.snapshot(remote)) == []
    assert faults.ingestion_problems(remote) == [] and faults.run_problems(remote) == []
    keys = on_s3.keys("lake", pair.prefix + "/")
    assert f"{pair.prefix}/lakeshop/gold/fact_sales/_delta_log/00000000000000000000.json" in keys
    assert any("/_raw/orders/ingest_date=" in k for k in keys)  # raw copies in the bucket
    # the lock is released, and it was an object of the bucket, not a local file
    assert f"{pair.prefix}/lakeshop/_system/_lock.json" not in keys
    runs = remote.lakehouse().read("_system.runs").to_pylist()
    assert [r["status"] for r in runs if r["status"] != "running"] == ["ok", "ok"]


def test_sql_status_and_doctor_read_the_lakehouse_on_s3(pair: Pair, on_s3: S3Server):
    code, out = lakeshop(pair.remote, "sql", "SELECT count(*) AS n FROM gold.fact_sales")
    assert code == 0, out
    local = Project.load(pair.local).lakehouse().read("gold.fact_sales").num_rows
    assert str(local) in out
    code, out = lakeshop(pair.remote, "doctor")
    assert code == 0, out


def test_replay_and_maintain_on_s3_keep_the_tables(pair: Pair, on_s3: S3Server):
    remote = Project.load(pair.remote)
    before = faults.snapshot(remote)
    today = datetime.now(UTC).date().isoformat()  # replay selects by ingestion date
    code, out = lakeshop(pair.remote, "replay", "--from", today, "--to", today)
    assert code in (0, 3), out
    code, out = lakeshop(pair.remote, "maintain", "--retention-hours", "0")
    assert code == 0, out
    after = Project.load(pair.remote)
    assert faults.compare(before, faults.snapshot(after)) == []
    runs = after.lakehouse().read("_system.runs").to_pylist()
    assert any(str(r["trigger"]).startswith("replay ") for r in runs)
    assert any(
        k.endswith(".checkpoint.parquet")
        for k in on_s3.keys("lake", f"{pair.prefix}/lakeshop/gold/fact_sales/_delta_log/")
    )
    code, out = lakeshop(pair.remote, "doctor")
    assert code == 0, out


def test_the_credentials_are_in_no_output_object_or_local_file(pair: Pair, on_s3: S3Server):
    assert pair.outputs and all(SECRET not in out for out in pair.outputs)
    for key in on_s3.keys("lake", pair.prefix + "/"):
        assert SECRET.encode() not in on_s3.read("lake", key), key
    for path in pair.remote.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_two_writers_racing_on_one_s3_target_one_wins_one_is_refused(
    on_s3: S3Server, small_retailer: Path, tmp_path: Path
):
    """Two ``lakeshop run`` started at the same moment on a copy of the S3 project with a new
    delivery: the lock's conditional put lets one in; the other is refused, writes nothing;
    the winner's tables are what one run makes."""
    prefix = f"race-{uuid.uuid4().hex[:8]}"
    project = make_project(tmp_path / "race", f"s3://lake/{prefix}")
    copy_days(small_retailer, project / "landing", DAYS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lakeshop.cli", "--project", str(project), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    # (the console wraps the error line: compared with its whitespace folded)
    refused = [i for i, out in enumerate(outs) if "being written by" in " ".join(out.split())]
    assert len(refused) == 1 and procs[refused[0]].returncode == LOCK_HELD, outs
    assert all(SECRET not in out for out in outs)
    # the winner ends as the same run alone on the local disk does
    alone = make_project(tmp_path / "alone", "lakehouse")
    copy_days(small_retailer, alone / "landing", DAYS)
    assert procs[1 - refused[0]].returncode == lakeshop(alone, "run")[0], outs
    raced = Project.load(project)
    runs = raced.lakehouse().read("_system.runs").to_pylist()
    assert len({r["run_id"] for r in runs}) == 1
    assert faults.ingestion_problems(raced) == []
    # the same rows as the two deliveries run together on the local disk
    assert faults.compare(faults.snapshot(Project.load(alone)), faults.snapshot(raced)) == []


def test_a_slow_network_keeps_the_run_correct(
    on_s3: S3Server, small_retailer: Path, tmp_path: Path
):
    """Every request through a proxy that delays it 20 ms: the same tables, and how much
    slower (printed; the figures belong to the benchmark, not to an assertion)."""
    s3 = on_s3
    port = int(s3.endpoint.rsplit(":", 1)[1])
    proxy = SlowProxy(port, delay=0.02)
    try:
        project = make_project(tmp_path / "slow", f"s3://lake/slow-{uuid.uuid4().hex[:8]}")
        copy_days(small_retailer, project / "landing", DAYS[:1])
        fast = make_project(tmp_path / "fast", f"s3://lake/fast-{uuid.uuid4().hex[:8]}")
        copy_days(small_retailer, fast / "landing", DAYS[:1])
        clock = time.perf_counter()
        assert lakeshop(fast, "run")[0] in (0, 3)
        direct = time.perf_counter() - clock
        clock = time.perf_counter()
        code, out = lakeshop(project, "run", env=s3.env(proxy.endpoint))
        slow = time.perf_counter() - clock
        assert code in (0, 3), out
        assert proxy.requests > 100  # the run's requests went through the proxy
    finally:
        proxy.close()
    print(f"one day on S3: {direct:.1f} s direct, {slow:.1f} s with 20 ms a request")
    got = faults.snapshot(Project.load(project))
    assert faults.compare(faults.snapshot(Project.load(fast)), got) == []

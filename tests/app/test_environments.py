"""Targets as environments: development targets prefixed per user (never touching each
other's tables), production guarded, and ``lakeshop env diff`` between two targets."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.envdiff import diff
from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import ConfigError, LakeshopError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.ops.schedule import Scheduler
from lakeshop.pipeline.lock import lock_path, writer_lock
from tests.conftest import cli, copy_days, one_error_line


def with_targets(directory: Path, **targets: dict[str, Any]) -> Project:
    """The demo project's lakeshop.yml with these targets (the first is the default)."""
    config = write_demo_config(directory)
    data = yaml.safe_load(config.read_text())
    data["targets"] = targets
    data["default_target"] = next(iter(targets))
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Project.load(directory)


def test_a_development_target_is_prefixed_with_the_user(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAKESHOP_USER", "Alice Smith")
    project = with_targets(tmp_path, dev={"mode": "development", "schema_prefix": "x_"})
    lakehouse = project.lakehouse()
    assert lakehouse.schema_prefix == "alice_smith_x_"
    assert lakehouse.path("gold.fact_sales").parent.name == "alice_smith_x_gold"
    assert lakehouse.raw_dir.name == "alice_smith_x__raw"
    assert lock_path(lakehouse).parent.name == "alice_smith_x__system"
    monkeypatch.setenv("LAKESHOP_USER", "!!!")
    with pytest.raises(ConfigError, match="LAKESHOP_USER"):
        Project.load(tmp_path).lakehouse()


def test_development_targets_are_not_scheduled(tmp_path: Path) -> None:
    schedule = {"cron": "0 2 * * *", "timezone": "UTC"}
    project = with_targets(tmp_path, dev={"mode": "development", "schedule": schedule})
    with pytest.raises(LakeshopError, match="development target: its schedule is paused"):
        Scheduler(project)


def test_production_is_named_explicitly_runs_whole_and_committed(tmp_path: Path) -> None:
    prod = {"mode": "production", "root": "prod"}
    with_targets(tmp_path, prod=prod, dev={"mode": "development"})
    (tmp_path / "landing").mkdir()
    code, _, stderr = cli("--project", tmp_path, "run")
    assert code == 2 and "--target prod" in one_error_line(stderr)
    code, _, stderr = cli(
        "--project", tmp_path, "run", "--target", "prod", "--select", "bronze.orders"
    )
    assert code == 2 and "a run of every table on production" in one_error_line(stderr)

    git = ["git", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "lakeshop.yml"], check=True)
    subprocess.run(
        [*git, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "c"],
        check=True,
    )
    config = tmp_path / "lakeshop.yml"
    config.write_text(config.read_text() + "# an uncommitted change\n")
    code, _, stderr = cli("--project", tmp_path, "run", "--target", "prod")
    line = one_error_line(stderr)
    assert code == 1 and "uncommitted changes (lakeshop.yml)" in line
    assert not (tmp_path / "prod").exists()  # refused before anything was written


def test_a_target_never_lists_the_schemas_of_the_targets_sharing_its_folder(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("LAKESHOP_USER", "alice")
    shared = {"root": "lake"}
    project = with_targets(
        tmp_path,
        prod=shared | {"mode": "production"},
        dev=shared | {"mode": "development"},
        ci=shared | {"schema_prefix": "ci_"},
        elsewhere={"root": "other"},
    )
    table = pa.table({"k": [1]})
    for folder in ("gold", "alice_gold", "bob__system", "ci_gold", "finance", "my_stuff"):
        Lakehouse(tmp_path / "lake").write(f"{folder}.t", table)
    listed = {n: sorted(project.lakehouse(n).tables()) for n in ("prod", "dev", "ci")}
    # prod: its own, and schemas nobody declares; not its users' nor ci's
    assert listed["prod"] == ["finance.t", "gold.t", "my_stuff.t"]
    assert listed["dev"] == ["gold.t"] and listed["ci"] == ["gold.t"]
    assert project.lakehouse("elsewhere").foreign is None  # shares no folder
    prod = project.lakehouse("prod")
    assert prod.mine("gold") and prod.mine("_raw") and prod.mine("finance")
    assert not prod.mine("alice__raw") and not prod.mine("ci_gold")
    assert prod.mine("_models") and not prod.mine("alice__models")


@pytest.mark.slow
def test_two_users_development_targets_never_touch_each_other(
    clean_retailer: Path, tmp_path: Path, monkeypatch
) -> None:
    project = with_targets(tmp_path, dev={"mode": "development"})
    copy_days(clean_retailer, project.landing, ["2026-01-01"])
    monkeypatch.setenv("LAKESHOP_USER", "alice")
    alice = Project.load(tmp_path)
    assert api.run(alice).summary.status == "ok"
    mine = {t: alice.lakehouse().version(t) for t in alice.lakehouse().tables()}
    monkeypatch.setenv("LAKESHOP_USER", "bob")
    bob = Project.load(tmp_path)
    assert bob.lakehouse().tables() == []  # Alice's tables are not Bob's
    # Bob runs while Alice holds her lock: each has their own
    with writer_lock(alice.lakehouse(), purpose="alice"):
        assert api.run(bob).summary.status == "ok"
    assert {t: alice.lakehouse().version(t) for t in mine} == mine
    catalog = tmp_path / "lakehouse" / "lakeshop"
    assert (
        sorted(p.name for p in catalog.iterdir() if not p.name.startswith(("alice", "bob"))) == []
    )
    assert diff(bob, "dev", "dev") and all(d.identical for d in diff(bob, "dev", "dev"))


@pytest.fixture
def twins(prebuilt, tmp_path: Path) -> Project:
    """The demo with a second target, ``copy``: its lakehouse copied."""
    directory = prebuilt.demo_copy(tmp_path / "demo")
    config = directory / "lakeshop.yml"
    data = yaml.safe_load(config.read_text())
    root = data["targets"]["dev"].get("root", "lakehouse")
    shutil.copytree(directory / root, directory / "copy")
    data["targets"]["copy"] = data["targets"]["dev"] | {"root": "copy"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Project.load(directory)


def test_env_diff_finds_nothing_between_identical_targets(twins: Project) -> None:
    code, out, stderr = cli(
        "--project", twins.directory, "env", "diff", "--from", "dev", "--to", "copy"
    )
    assert code == 0, stderr
    assert "dev and copy hold the same rows in all" in out
    found = diff(twins, "dev", "copy")
    assert len(found) > 40 and all(d.identical for d in found)
    by = {d.table: d.matched_by for d in found}
    assert by["silver.orders"] == "key (order_id)"
    assert "whole rows" in by.values()  # a table without keys, or keys not unique (SCD2)


def replaced(table: pa.Table, column: str, values: list[Any]) -> pa.Table:
    at = table.schema.get_field_index(column)
    return table.set_column(at, column, pa.array(values, table.schema.field(column).type))


def test_env_diff_finds_an_injected_change(twins: Project) -> None:
    lakehouse = twins.lakehouse("copy")
    orders = lakehouse.read("silver.orders").sort_by("order_id")
    # one order gone, one changed (its status), one new
    kept = orders.slice(1)
    status = kept.column("status").to_pylist()
    status[0] = "changed"
    kept = replaced(kept, "status", status)
    new = replaced(orders.slice(1, 1), "order_id", ["NEW-1"])
    lakehouse.write("silver.orders", pa.concat_tables([kept, new]), "overwrite")
    store = lakehouse.read("gold.dim_store")
    extra = store.append_column("extra", pa.nulls(store.num_rows, pa.int64()))
    lakehouse.write("gold.dim_store", extra, "overwrite")

    (orders_diff, store_diff) = diff(twins, "dev", "copy", ["silver.orders", "gold.dim_store"])
    assert orders_diff.matched_by == "key (order_id)"
    assert (orders_diff.only_left, orders_diff.only_right) == (1, 1)
    assert {c: n for c, n in orders_diff.changed.items() if n} == {"status": 1}
    assert not orders_diff.identical and orders_diff.left_rows == orders.num_rows
    assert store_diff.schema == ["extra: only in --to"]

    code, out, _ = cli(
        "--project",
        twins.directory,
        "env",
        "diff",
        "--from",
        "dev",
        "--to",
        "copy",
        "--format",
        "json",
    )
    assert code == 1
    rows = {r["table"]: r for r in json.loads(out)}
    assert rows["silver.orders"]["changed"] == "status: 1"
    assert sum(1 for r in rows.values() if r["changed"] or r["schema"] or r["only_from"]) == 2
    code, _, stderr = cli(
        "--project", twins.directory, "env", "diff", "--from", "dev", "--to", "copy", "gold.nope"
    )
    assert code == 1 and "gold.nope" in one_error_line(stderr)

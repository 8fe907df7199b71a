"""``lakeshop env clone``: a development target started from production's tables by links,
reading the same rows as production at that moment and writing only under its own prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.envdiff import diff
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError
from lakeshop.ops.backup import backup
from lakeshop.ops.clone import clone
from lakeshop.pipeline import system
from lakeshop.pipeline.lock import LOCK_FILE
from tests.app.test_environments import with_targets
from tests.conftest import cli, copy_days, one_error_line

pytestmark = pytest.mark.slow


def files_of(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder`` but locks: inode, size and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(LOCK_FILE)
    }


def test_a_development_target_starts_from_prod_and_writes_only_its_own(
    clean_retailer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKESHOP_USER", "alice")
    # production unprefixed, Alice's development in the same catalog folder (alice_gold …)
    with_targets(tmp_path, dev={"mode": "development"}, prod={"mode": "production"})
    project = Project.load(tmp_path)
    copy_days(clean_retailer, project.landing, ["2026-01-01", "2026-01-02"])
    code, _, stderr = cli("--project", tmp_path, "run", "--target", "prod")
    assert code == 0, stderr
    catalog = tmp_path / "lakehouse" / "lakeshop"
    prod_files = files_of(catalog)
    prod = project.lakehouse("prod")
    versions = {t: v for t in prod.tables() if (v := prod.version(t)) is not None}

    code, out, stderr = cli("--project", tmp_path, "env", "clone", "--from", "prod")
    assert code == 0, stderr
    assert "dev started from prod" in out and "copied" not in out, out
    # nothing of production's was written, and the clone's files are production's (links)
    assert files_of(catalog) | prod_files == files_of(catalog)
    dev_files = {k: v for k, v in files_of(catalog).items() if k.startswith("alice_")}
    prod_inodes = {ino for ino, _, _ in prod_files.values()}
    data = [k for k in dev_files if k.endswith(".parquet") and "_delta_log" not in k]
    own = [k for k in data if dev_files[k][0] not in prod_inodes]
    assert data and all(k.startswith("alice__system/files/") for k in own), own  # raw_path

    project = Project.load(tmp_path)
    dev = project.lakehouse("dev")
    assert sorted(dev.tables()) == sorted(versions)  # and no alice_ schema among prod's
    rewritten = {system.FILES: versions[system.FILES] + 1}  # its raw paths, see below
    assert {t: dev.version(t) for t in dev.tables()} == versions | rewritten
    found = diff(project, "prod", "dev")
    assert len(found) > 40 and all(d.identical for d in found), [
        d.table for d in found if not d.identical
    ]
    # the clone's log of ingested files points at its own raw copies, which are there
    raw = system.read(dev, system.FILES).column("raw_path").to_pylist()
    assert raw and all(p.startswith("lakeshop/alice__raw/") for p in raw)
    assert all((dev.root / p).is_file() for p in raw)

    # the developer runs a new day on the clone: production is untouched
    copy_days(clean_retailer, project.landing, ["2026-01-03"])
    assert api.run(project, target="dev").summary.status == "ok"
    assert {k: v for k, v in files_of(catalog).items() if k in prod_files} == prod_files
    written = set(files_of(catalog)) - set(prod_files) - set(dev_files)
    assert written and all(k.startswith("alice_") for k in written)
    assert {t: prod.version(t) for t in versions} == versions
    ingested = system.read(dev, system.FILES).column("path").to_pylist()
    assert any("2026-01-03" in p for p in ingested)
    assert not any("2026-01-03" in p for p in system.read(prod, system.FILES)["path"].to_pylist())
    code, _, _ = cli("--project", tmp_path, "env", "diff", "--from", "prod", "--to", "dev")
    assert code == 1
    # production's backup and maintenance see production's tables, not Alice's beside them
    kept = backup(project, tmp_path / "backup", "prod")
    assert set(kept.tables) == set(versions)
    assert kept.files and not any(f.startswith("alice_") for f in kept.files)

    # a second clone is refused over the developer's tables, unless forced; never into prod
    code, _, stderr = cli("--project", tmp_path, "env", "clone", "--from", "prod")
    assert code == 1 and "--force" in one_error_line(stderr)
    again = clone(Project.load(tmp_path), "prod", "dev", force=True)
    assert again.replaced == len(versions) and again.files_copied == 0
    assert all(d.identical for d in diff(Project.load(tmp_path), "prod", "dev"))
    with pytest.raises(LakeshopError, match="production"):
        clone(Project.load(tmp_path), "dev", "prod")

"""The storage layer: object-store roots are composed like paths, never written to the local
disk, and refused when their scheme is unknown; against a real S3 API (moto's server, marker
``cluster``) their objects, Delta tables and conditional puts behave as on the local disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import ConfigError
from lakeshop.engines import storage
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.storage import S3Path, StorageError
from tests.s3server import S3Server


def _project(directory: Path, root: str) -> Project:
    write_demo_config(directory)
    config = yaml.safe_load((directory / "lakeshop.yml").read_text())
    config["targets"]["dev"]["root"] = root
    (directory / "lakeshop.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Project.load(directory)


@pytest.mark.parametrize(
    "root", ["s3a://lake/shop", "s3:/lake/shop", "hdfs://nn/lake", "file:///tmp/x", "s3://"]
)
def test_an_unknown_or_malformed_store_root_is_refused_and_nothing_is_written(
    tmp_path: Path, root: str
):
    project = _project(tmp_path, root)
    with pytest.raises(ConfigError, match=r"targets\.dev\.root"):
        project.lakehouse()
    # what main did: a folder named after the scheme, holding the tables
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lakeshop.yml"]


def test_an_object_path_composes_like_a_path_and_refuses_the_local_disk():
    root = storage.location("s3://lake/shop/", "root")
    table = root / "lakeshop" / "silver" / "orders"
    assert isinstance(table, S3Path)
    assert str(table) == "s3://lake/shop/lakeshop/silver/orders"
    assert table.relative_to(root).as_posix() == "lakeshop/silver/orders"
    assert table.parent.name == "silver" and str(table.parent) == "s3://lake/shop/lakeshop/silver"
    assert table.key == "lake/shop/lakeshop/silver/orders"
    # the same path text on the local disk is another place
    assert table != Path("/lake/shop/lakeshop/silver/orders")
    with pytest.raises(StorageError, match="cannot be used as a local file"):
        os.fspath(table)
    with pytest.raises(StorageError):
        open(table, "wb")  # noqa: SIM115 (refused before anything is opened)


def test_store_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sekret")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    found = storage.delta_options(storage.location("s3://lake/x"))
    assert found is not None
    assert found["endpoint"] == "http://127.0.0.1:9" and found["allow_http"] == "true"
    assert found["region"] == "eu-west-3" and found["secret_access_key"] == "sekret"
    # commits by conditional put: neither a DynamoDB lock nor the unsafe rename
    assert found["aws_conditional_put"] == "etag"
    assert not any("unsafe" in k.lower() for k in found)
    assert storage.delta_options(Path("/tmp/x")) is None
    # never part of a path's text
    assert "sekret" not in repr(storage.location("s3://lake/x") / "y")


@pytest.mark.cluster
def test_objects_are_listed_read_and_removed_through_the_store(on_s3: S3Server):
    root = storage.location("s3://lake/objects")
    (root / "a" / "one.json").write_text('{"n": 1}')
    (root / "a" / "b" / "two.bin").write_bytes(b"\x00\x01")
    assert on_s3.keys("lake", "objects/") == ["objects/a/b/two.bin", "objects/a/one.json"]
    assert (root / "a").is_dir() and (root / "a" / "one.json").is_file()
    assert sorted(p.name for p in (root / "a").iterdir()) == ["b", "one.json"]
    assert (root / "a" / "one.json").stat().st_size == 8
    assert (root / "a" / "one.json").read_text() == '{"n": 1}'
    assert [p.name for p in root.glob("*/b")] == ["b"]
    with storage.local_copy(root / "a" / "b" / "two.bin") as local:
        assert local.read_bytes() == b"\x00\x01" and not isinstance(local, S3Path)
    storage.remove_tree(root / "a" / "b")
    assert on_s3.keys("lake", "objects/") == ["objects/a/one.json"]
    (root / "a" / "one.json").unlink()
    assert not (root / "a").exists()
    with pytest.raises(FileNotFoundError):
        (root / "a" / "one.json").read_bytes()


@pytest.mark.cluster
def test_create_exclusive_is_a_conditional_put(on_s3: S3Server):
    lock = storage.location("s3://lake/excl") / "_lock.json"
    assert storage.create_exclusive(lock, b"first")
    assert not storage.create_exclusive(lock, b"second")
    assert on_s3.read("lake", "excl/_lock.json") == b"first"


@pytest.mark.cluster
def test_a_delta_table_on_s3_is_written_merged_and_read_in_the_bucket(on_s3: S3Server):
    lakehouse = Lakehouse(storage.location("s3://lake/delta"))
    lakehouse.write("silver.t", pa.table({"k": [1, 2], "v": ["a", "b"]}))
    lakehouse.merge("silver.t", pa.table({"k": [2, 3], "v": ["B", "c"]}), ["k"])
    assert lakehouse.tables() == ["silver.t"] and lakehouse.version("silver.t") == 1
    got = lakehouse.read("silver.t").sort_by("k").to_pydict()
    assert got == {"k": [1, 2, 3], "v": ["a", "B", "c"]}
    assert lakehouse.dataset("silver.t").count_rows() == 3
    keys = on_s3.keys("lake", "delta/")
    assert "delta/lakeshop/silver/t/_delta_log/00000000000000000001.json" in keys
    assert any(k.endswith(".parquet") for k in keys)


#: a writer committing one row to the table, at a version it read before the other wrote
_RACER = """
import sys
from deltalake import DeltaTable, write_deltalake
import pyarrow as pa
from lakeshop.engines import storage
path = storage.location("s3://lake/race") / "t"
table = DeltaTable(str(path), storage_options=storage.delta_options(path))
print("opened", flush=True)
sys.stdin.readline()
write_deltalake(table, pa.table({"w": [int(sys.argv[1])]}), mode="append")
print("committed", table.version(), flush=True)
"""


@pytest.mark.cluster
def test_two_writers_committing_at_once_both_land_and_nothing_is_lost(on_s3: S3Server):
    """Two processes open the table at version 0 and append at the same moment: the commit
    files are created with If-None-Match, so one gets version 1, the other finds it taken
    and commits version 2 (an append does not conflict); no row is lost or doubled."""
    path = storage.location("s3://lake/race") / "t"
    from deltalake import write_deltalake

    write_deltalake(str(path), pa.table({"w": [0]}), storage_options=storage.delta_options(path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "opened"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    versions = sorted(int(out.split()[-1]) for out, _ in outs)
    assert versions == [1, 2]
    from deltalake import DeltaTable

    table = DeltaTable(str(path), storage_options=storage.delta_options(path))
    assert sorted(table.to_pyarrow_table().column("w").to_pylist()) == [0, 1, 2]
    commits = [k for k in on_s3.keys("lake", "race/t/_delta_log/") if k.endswith(".json")]
    assert len(commits) == 3

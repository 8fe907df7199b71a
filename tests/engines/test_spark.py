"""The Spark engine's pieces: dialect rules, selection, refusals and error lines."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import yaml
from deltalake import write_deltalake

from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import ConfigError, LakeshopError, MissingDependency
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.spark import session as spark_module
from lakeshop.engines.spark.dialect import to_spark
from lakeshop.engines.spark.engine import SparkEngine
from tests.conftest import cli, engine_config, one_error_line


def test_schema_tables_become_views_and_keep_their_name_as_alias() -> None:
    sql = to_spark("SELECT orders.order_id FROM silver.orders JOIN gold.x AS g ON g.k = orders.k")
    assert "`silver__orders` AS orders" in sql
    assert "`gold__x` AS g" in sql
    assert "silver.orders" not in sql


def test_the_pipeline_never_imports_pyspark_unless_spark_is_chosen(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    code = (
        "import sys; from lakeshop.cli import app; from lakeshop.app.project import Project; "
        "import lakeshop.engines.spark.engine; "
        f"Project.load(__import__('pathlib').Path({str(tmp_path)!r})).engine().close(); "
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_pyspark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_module, "_session", None)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(MissingDependency, match=r"pip install 'lakeshop\[spark\]'"):
        spark_module.spark_session()


def test_target_settings_select_spark_and_a_misspelt_key_is_named(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    config_file = tmp_path / "lakeshop.yml"
    config = yaml.safe_load(config_file.read_text())
    config["targets"]["dev"] |= {
        "engine": "spark",
        "spark": {"master": "local[1]", "conf": {"spark.sql.shuffle.partitions": 2}},
    }
    config_file.write_text(yaml.safe_dump(config))
    target = Project.load(tmp_path).target()[1]
    assert (target.engine, target.spark.master, target.spark.connect_url) == (
        "spark",
        "local[1]",
        None,
    )
    config["targets"]["dev"]["spark"] = {"mastr": "local[1]"}
    config_file.write_text(yaml.safe_dump(config))
    with pytest.raises(
        ConfigError, match=r"setting 'targets.dev.spark.mastr'.*did you mean 'master'"
    ):
        Project.load(tmp_path)
    config["targets"]["dev"] = {"engine": "flink"}
    config_file.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="expected one of duckdb, spark, found 'flink'"):
        Project.load(tmp_path)


def test_run_refuses_an_unknown_engine_in_one_line(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    code, _, err = cli("--project", tmp_path, "run", "--engine", "flink")
    assert code == 2
    assert "flink" in err


@pytest.mark.spark
def test_iso_day_of_week_and_day_names_match_duckdb(spark: Any, tmp_path: Path) -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(14)]
    sql = "SELECT d, ISODOW(d) AS dow, STRFTIME(d, '%A') AS name FROM days ORDER BY d"
    expected = duckdb.sql(
        "SELECT d, ISODOW(d) AS dow, STRFTIME(d, '%A') AS name FROM "
        "(SELECT UNNEST($1::DATE[]) AS d) ORDER BY d",
        params=[days],
    ).fetchall()  # type: ignore[union-attr]
    with SparkEngine(Lakehouse(tmp_path)) as engine:
        engine.register("days", pa.table({"d": pa.array(days, pa.date32())}))
        got = engine.fetch(sql)
    assert [tuple(r.values()) for r in got.to_pylist()] == expected


@pytest.mark.spark
def test_a_partitioned_table_is_refused_by_name(spark: Any, tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path)
    write_deltalake(
        str(lakehouse.path("silver.parts")),
        pa.table({"k": [1, 2], "p": ["a", "b"]}),
        partition_by=["p"],
    )
    with (
        SparkEngine(lakehouse) as engine,
        pytest.raises(LakeshopError, match=r"table silver\.parts: .*without partition columns"),
    ):
        engine.bind_table("silver.parts")


@pytest.mark.spark
def test_sql_errors_are_one_line_naming_the_problem(spark: Any, tmp_path: Path) -> None:
    with SparkEngine(Lakehouse(tmp_path)) as engine:
        with pytest.raises(LakeshopError) as failed:
            engine.fetch("SELECT no_such_column FROM (SELECT 1 AS a) AS t")
        assert "no_such_column" in str(failed.value) and "\n" not in str(failed.value)
        with pytest.raises(LakeshopError, match="SQL does not parse"):
            engine.fetch("SELECT FROM WHERE (")


@pytest.mark.spark
def test_sql_command_runs_on_spark_over_a_spark_written_table(spark: Any, tmp_path: Path) -> None:
    """An append and an overwrite through the executors' Parquet files, then a query."""
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    with SparkEngine(lakehouse) as engine:
        engine.stage("_rows", "SELECT CAST(1 AS BIGINT) AS k, CAST(2.50 AS DECIMAL(18, 2)) AS v")
        assert engine.write("gold.t", "_rows", "append", metadata={"m": "x"}) == 1
        assert engine.write("gold.t", "_rows", "append") == 1
        engine.stage("_none", "SELECT * FROM _rows WHERE k > 1")
        assert engine.write("gold.t", "_none", "append", metadata={"m": "y"}) == 0
    dt = lakehouse.delta("gold.t")
    assert dt.version() == 2 and dt.history(1)[0]["m"] == "y"
    assert str(dt.schema().fields[1].type) == 'PrimitiveType("decimal(18,2)")'
    # two data files written by the executors (none for the empty append), no checksums
    files = dt.file_uris()
    assert len(files) == 2 and all("/spark-" in f for f in files), files
    assert not list(lakehouse.path("gold.t").rglob("*.crc"))
    engine_config(tmp_path, "spark")
    code, out, err = cli(
        "--project", tmp_path, "sql", "SELECT sum(v) AS s FROM gold.t", "--format", "csv"
    )
    assert code == 0, err
    assert [line.strip('"') for line in out.splitlines()] == ["s", "5.00"], out
    code, _, err = cli("--project", tmp_path, "sql", "SELECT * FROM gold.nope")
    assert code == 1 and "gold.nope" in one_error_line(err)

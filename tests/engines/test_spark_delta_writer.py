"""``spark.delta_writer``: the setting, which writer a session gets, Delta Lake for Spark's
statements, and commit metadata written as Delta Lake for Spark writes it (``userMetadata``).

Delta Lake for Spark itself is not installable here (offline: no jars), so its writes never run;
what can be checked without it is, on real Spark sessions and real Delta tables.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError, DeltaSparkUnavailable, LakeshopError
from lakeshop.engines.commit_info import (
    USER_METADATA,
    WATERMARK_KEY,
    commit_metadata,
    commit_watermarks,
)
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.spark.delta_writer import (
    DELTA_CLASS,
    DELTA_EXTENSION,
    SKIP_EMPTY_CONF,
    USER_METADATA_CONF,
    DeltaSparkWriter,
    delta_spark_missing,
    jvm_has_class,
    merge_sql,
    session_conf,
    spark_predicate,
    written_rows,
)
from lakeshop.engines.spark.engine import SparkEngine
from lakeshop.ops.maintain import maintain_table
from tests.conftest import cli, engine_config, one_error_line


def spark_target(directory: Path, **spark: Any) -> Path:
    """A project whose dev target runs on Spark with the given ``spark`` settings."""
    return engine_config(directory, "spark", master="local[2]", **spark)


# -- the setting ------------------------------------------------------------------------------


def test_delta_writer_defaults_to_auto_and_a_wrong_value_is_named(tmp_path: Path) -> None:
    spark_target(tmp_path)
    assert Project.load(tmp_path).target()[1].spark.delta_writer == "auto"
    spark_target(tmp_path, delta_writer="deltalake")
    assert Project.load(tmp_path).target()[1].spark.delta_writer == "deltalake"
    spark_target(tmp_path, delta_writer="delta-spark")
    with pytest.raises(ConfigError) as failed:
        Project.load(tmp_path)
    assert str(failed.value).endswith(
        "lakeshop.yml: setting 'targets.dev.spark.delta_writer': "
        "expected one of auto, spark, deltalake, found 'delta-spark'"
    )
    code, _, err = cli("--project", tmp_path, "status")
    assert code == 2 and "targets.dev.spark.delta_writer" in one_error_line(err)


# -- which writer a session gets --------------------------------------------------------------


@pytest.mark.spark
def test_the_probe_finds_spark_classes_but_not_delta_here(spark: Any) -> None:
    """The class probe answers yes for a class the JVM has (it is not always no)."""
    assert jvm_has_class(spark, "org.apache.spark.sql.SparkSession") is True
    assert jvm_has_class(spark, DELTA_CLASS) is False
    missing = delta_spark_missing(spark)
    assert f"class {DELTA_CLASS} not found" in missing
    assert f"spark.sql.extensions lacks {DELTA_EXTENSION}" in missing


@pytest.mark.spark
def test_auto_writes_with_deltalake_where_spark_has_no_delta(spark: Any, tmp_path: Path) -> None:
    spark_target(tmp_path)
    project = Project.load(tmp_path)
    with project.engine() as engine:
        assert isinstance(engine, SparkEngine) and engine.delta_writer == "deltalake"
        engine.stage("_rows", "SELECT CAST(1 AS BIGINT) AS k")
        metadata = {"lakeshop.run_id": "r1", WATERMARK_KEY: json.dumps({"silver.x": 4})}
        assert engine.write("gold.t", "_rows", "append", metadata=metadata) == 1
    lakehouse = project.lakehouse()
    # the executors' Parquet files, committed by deltalake with its own commit keys
    assert all("/spark-" in f for f in lakehouse.delta("gold.t").file_uris())
    commit = lakehouse.last_commit("gold.t")
    assert commit["engineInfo"].startswith("delta-rs") and USER_METADATA not in commit
    assert lakehouse.watermarks("gold.t") == {"silver.x": 4}
    with SparkEngine(Lakehouse(tmp_path / "other"), delta_writer="deltalake") as engine:
        assert engine.delta_writer == "deltalake"


@pytest.mark.spark
def test_forcing_delta_spark_without_it_fails_naming_the_setting(
    spark: Any, tmp_path: Path
) -> None:
    spark_target(tmp_path, delta_writer="spark")
    project = Project.load(tmp_path)
    with pytest.raises(DeltaSparkUnavailable) as failed:
        project.engine()
    message = str(failed.value)
    assert isinstance(failed.value, ConfigError) and failed.value.exit_code == 2
    assert "setting 'targets.dev.spark.delta_writer'" in message
    assert DELTA_CLASS in message and message.endswith("found 'spark'")
    code, _, err = cli("--project", tmp_path, "sql", "SELECT 1 AS one")
    line = one_error_line(err)
    assert code == 2 and "targets.dev.spark.delta_writer" in line and "auto or deltalake" in line


@pytest.mark.spark
def test_the_delta_writer_on_a_session_without_delta_fails_in_one_line_and_leaves_the_session(
    spark: Any, tmp_path: Path
) -> None:
    """Reached only by bypassing the check: the failure is Spark's one line, nothing is
    committed, and the session's settings are as they were."""
    lakehouse = Lakehouse(tmp_path)
    spark.conf.set(USER_METADATA_CONF, "someone else's")
    try:
        with SparkEngine(lakehouse, delta_writer="deltalake") as engine:
            engine._delta_spark = DeltaSparkWriter(engine.spark, lakehouse)
            engine.stage("_rows", "SELECT CAST(1 AS BIGINT) AS k")
            with pytest.raises(LakeshopError) as failed:
                engine.write("gold.t", "_rows", "append", metadata={"lakeshop.run_id": "r"})
        assert "delta" in str(failed.value).lower() and "\n" not in str(failed.value)
        assert not lakehouse.exists("gold.t")
        assert spark.conf.get(USER_METADATA_CONF) == "someone else's"
        assert spark.conf.get(SKIP_EMPTY_CONF, None) is None
    finally:
        spark.conf.unset(USER_METADATA_CONF)


@pytest.mark.spark
def test_session_settings_are_restored_after_the_block(spark: Any) -> None:
    spark.conf.set(SKIP_EMPTY_CONF, "true")
    try:
        with session_conf(spark, {SKIP_EMPTY_CONF: "false", USER_METADATA_CONF: "{}"}):
            assert spark.conf.get(SKIP_EMPTY_CONF) == "false"
            assert spark.conf.get(USER_METADATA_CONF) == "{}"
        assert spark.conf.get(SKIP_EMPTY_CONF) == "true"
        assert spark.conf.get(USER_METADATA_CONF, None) is None
    finally:
        spark.conf.unset(SKIP_EMPTY_CONF)


# -- Delta Lake for Spark's statements ----------------------------------------------------------


@pytest.mark.spark
def test_the_merge_statement_is_spark_sql_and_keeps_the_delete_flag_out(spark: Any) -> None:
    sql = merge_sql("/lake/gold/odd`name", "src", ["k", "v", "_batch_id"], ["k"], flagged=True)
    # Spark's own parser (MERGE INTO is Spark SQL; only its execution needs Delta)
    plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(sql)
    assert plan.getClass().getSimpleName() == "MergeIntoTable"
    assert "delta.`/lake/gold/odd``name` AS t" in sql
    assert "WHEN MATCHED AND s.`_delete` THEN DELETE" in sql
    insert = sql.splitlines()[-1]
    assert insert.startswith("WHEN NOT MATCHED AND NOT s.`_delete` THEN INSERT")
    assert insert.count("_delete") == 1  # in the condition, not among the columns
    plain = merge_sql("/lake/gold/t", "src", ["k", "v"], ["k"], flagged=False)
    assert "DELETE" not in plain and "_delete" not in plain


@pytest.mark.spark
def test_a_replace_predicate_selects_in_spark_what_it_selects_in_duckdb(spark: Any) -> None:
    """Predicates as the strategies write them (quoted columns, typed literals)."""
    predicate = (
        "\"sales_date\" >= CAST('2026-01-03' AS DATE) "
        "OR \"sales_date\" IN (CAST('2026-01-01' AS DATE))"
    )
    rows = pa.table({"sales_date": pa.array([20454 + i for i in range(5)], pa.date32())})
    expected = duckdb.sql(f"SELECT sales_date FROM rows WHERE {predicate} ORDER BY 1").fetchall()  # type: ignore[union-attr]
    spark.createDataFrame(rows).createOrReplaceTempView("rows")
    try:
        got = spark.sql(
            f"SELECT sales_date FROM rows WHERE {spark_predicate(predicate)} ORDER BY 1"
        )
        assert [tuple(r) for r in got.collect()] == expected and len(expected) == 4
    finally:
        spark.catalog.dropTempView("rows")
    with pytest.raises(LakeshopError, match="predicate does not parse"):
        spark_predicate("sales_date IN (")


# -- commit metadata written as Delta Lake for Spark writes it -----------------------------------


def append_commit(table_dir: Path, commit_info: dict[str, Any]) -> int:
    """Add a commit holding only ``commitInfo`` (an empty commit, as Delta Lake for Spark
    records one with skipRecordingEmptyCommits off) to a Delta table's log."""
    log = table_dir / "_delta_log"
    version = 1 + max(int(p.stem) for p in log.glob("*.json"))
    info = {
        "timestamp": int(time.time() * 1000),
        "operation": "WRITE",
        "operationParameters": {"mode": "Append", "partitionBy": "[]"},
        "readVersion": version - 1,
        "isolationLevel": "Serializable",
        "isBlindAppend": True,
        "operationMetrics": {"numFiles": "0", "numOutputRows": "0", "numOutputBytes": "0"},
        "engineInfo": "Apache-Spark/4.0.0 Delta-Lake/4.0.0",
        "txnId": str(uuid.uuid4()),
    } | commit_info
    (log / f"{version:020d}.json").write_text(json.dumps({"commitInfo": info}) + "\n")
    return version


def user_metadata(run_id: str, marks: dict[str, int]) -> str:
    """``userMetadata`` as the Delta-Spark writer sets it: lakeshop's commit keys as JSON."""
    return json.dumps({"lakeshop.run_id": run_id, WATERMARK_KEY: json.dumps(marks)})


def test_watermarks_are_read_from_either_form_of_commit_metadata(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path)
    rows = pa.table({"k": pa.array([1, 2], pa.int64())})
    lakehouse.write("gold.t", rows, metadata={WATERMARK_KEY: json.dumps({"silver.a": 1})})
    assert lakehouse.watermarks("gold.t") == {"silver.a": 1}
    # a data commit whose lakeshop keys are in userMetadata (written here by deltalake)
    write_deltalake(
        lakehouse.delta("gold.t"),
        rows,
        mode="append",
        commit_properties=CommitProperties(
            custom_metadata={USER_METADATA: user_metadata("r2", {"silver.a": 2})}
        ),
    )
    assert lakehouse.watermarks("gold.t") == {"silver.a": 2}
    # an empty commit as Delta Lake for Spark writes it, read through the same Lakehouse
    version = append_commit(
        lakehouse.path("gold.t"), {USER_METADATA: user_metadata("r3", {"silver.a": 3})}
    )
    assert lakehouse.version("gold.t") == version == 2
    assert lakehouse.watermarks("gold.t") == {"silver.a": 3}
    assert commit_metadata(lakehouse.last_commit("gold.t"))["lakeshop.run_id"] == "r3"
    assert lakehouse.read("gold.t").num_rows == 4
    # someone's free-text userMetadata holds no watermarks: the reader looks further back
    append_commit(lakehouse.path("gold.t"), {USER_METADATA: "fixed by hand {see ticket}"})
    append_commit(lakehouse.path("gold.t"), {USER_METADATA: '{"note": "not lakeshop"}'})
    assert lakehouse.watermarks("gold.t") == {"silver.a": 3}
    # deltalake still opens, reads and writes the table
    assert DeltaTable(str(lakehouse.path("gold.t"))).version() == 4


def test_maintenance_carries_watermarks_found_in_user_metadata(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path)
    for k in (1, 2):
        lakehouse.write("gold.t", pa.table({"k": pa.array([k], pa.int64())}))
    append_commit(lakehouse.path("gold.t"), {USER_METADATA: user_metadata("r", {"silver.a": 7})})
    result = maintain_table(lakehouse, "gold.t", 168)
    assert result.files_after == 1 and result.version_after > 2
    newest = lakehouse.delta("gold.t").history(1)[0]
    assert newest["operation"] != "WRITE" and json.loads(newest[WATERMARK_KEY]) == {"silver.a": 7}
    assert Lakehouse(tmp_path).watermarks("gold.t") == {"silver.a": 7}


def test_commit_keys_at_the_top_level_win_over_user_metadata() -> None:
    commit = {
        WATERMARK_KEY: json.dumps({"a": 1}),
        USER_METADATA: user_metadata("r", {"a": 2}),
        "operation": "WRITE",
    }
    assert commit_watermarks(commit) == {"a": 1}
    assert commit_metadata(commit) == {"lakeshop.run_id": "r", WATERMARK_KEY: '{"a": 1}'}
    assert commit_watermarks({"operation": "OPTIMIZE"}) is None
    assert commit_watermarks({USER_METADATA: "[1, 2]"}) is None


def test_rows_written_are_read_from_the_commit_metrics_delta_spark_records(tmp_path: Path) -> None:
    """A view passed to the writer is computed once: Delta counts the rows as it writes them."""
    lakehouse = Lakehouse(tmp_path)
    lakehouse.write("gold.t", pa.table({"k": pa.array([1], pa.int64())}))
    append_commit(lakehouse.path("gold.t"), {})  # an empty append: numOutputRows "0"
    assert written_rows(lakehouse.last_commit("gold.t"), merged=False) == 0
    merge_metrics = {"numSourceRows": "5", "numTargetRowsInserted": "2", "numOutputRows": "9"}
    append_commit(
        lakehouse.path("gold.t"), {"operation": "MERGE", "operationMetrics": merge_metrics}
    )
    assert written_rows(lakehouse.last_commit("gold.t"), merged=True) == 5
    assert written_rows({"operation": "WRITE"}, merged=False) is None

"""The read-only query path: escape attempts are refused with their reason and change nothing
(files, Delta tables, settings); ordinary analytical queries return what an unrestricted
engine returns; and the reader engine holds on its own when a statement gets past the check."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow.parquet as pq
import pytest

from lakeshop.app import api
from lakeshop.app import reader as read_path
from lakeshop.app.project import Project
from lakeshop.core.errors import QueryRefused, TableNotFound
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.pipeline.graph import referenced_tables
from tests.conftest import cli, one_error_line

#: tables whose row counts each escape attempt must leave as they were
WATCHED = ["gold.fact_sales", "gold.agg_daily_sales", "silver.orders", "_system.runs"]


@dataclass
class Lake:
    """A copy of the ``observed`` project, the places escape attempts aim at, and a folder
    outside the lakehouse (``trap``) where nothing may appear."""

    project: Project
    trap: Path
    places: dict[str, str]
    counts: dict[str, int]

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file of the project and of the trap, with its size and modification time."""
        found = {}
        for base in (self.project.directory, self.trap):
            for folder, _, names in os.walk(base):
                for name in names:
                    stat = os.stat(os.path.join(folder, name))
                    found[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
        return found

    def row_counts(self) -> dict[str, int]:
        """Rows of the watched tables, from the footers of their snapshot's data files."""
        lakehouse = self.project.lakehouse()
        return {
            name: sum(pq.read_metadata(f).num_rows for f in lakehouse.snapshot_files(name) or [])
            for name in WATCHED
        }


@pytest.fixture(scope="module")
def lake(observed: Project, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    directory = tmp_path_factory.mktemp("sandbox") / "project"
    shutil.copytree(observed.directory, directory)
    project = Project.load(directory)
    lakehouse = project.lakehouse()
    trap = tmp_path_factory.mktemp("trap")
    places = {
        "trap": str(trap),
        "lakehouse": str(lakehouse.root),
        "gold": str(lakehouse.path("gold.fact_sales").parent),
        "data_file": (lakehouse.snapshot_files("gold.fact_sales") or [""])[0],
        "raw_copy": str(next(p for p in lakehouse.raw_dir.rglob("*") if p.is_file())),
    }
    assert places["data_file"]
    found = Lake(project, trap, places, {})
    found.counts = found.row_counts()
    assert all(found.counts.values())
    return found


@contextmanager
def shared_engine(project: Project) -> Iterator[DuckDBEngine]:
    """The engine every query inside the block runs on (see :func:`api.reading`)."""
    with api.reading(project):
        shared = read_path._READER.get()
        assert shared is not None and isinstance(shared[1], DuckDBEngine)
        yield shared[1]


def settings(engine: DuckDBEngine) -> dict[str, Any]:
    return dict(engine.con.execute("SELECT name, value FROM duckdb_settings()").fetchall())


# --- escape attempts ------------------------------------------------------------------------


class Escape(NamedTuple):
    """An escape attempt: its id, its SQL (with ``{place}`` fields) and what the refusal names."""

    id: str
    sql: str
    reason: str


COPY = "COPY reads and writes files"
READS = "reads files"
QUOTED = "quoted name without a schema, which DuckDB reads as a file"

ESCAPES = [
    # files written, overwritten, deleted
    Escape("copy-to-a-file", "COPY (SELECT 42) TO '{trap}/x.csv'", COPY),
    Escape(
        "copy-over-a-delta-data-file",
        "COPY (SELECT * FROM gold.fact_sales WHERE false) TO '{data_file}' (FORMAT parquet)",
        COPY,
    ),
    Escape(
        "copy-partitioned-overwrite-of-gold",
        "COPY (SELECT 1 AS a) TO '{gold}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE)",
        COPY,
    ),
    Escape("copy-from-a-file", "COPY gold.fact_sales FROM '/etc/passwd'", COPY),
    Escape("copy-in-mixed-case", "cOpY (sElEcT 1) tO '{trap}/case.csv'", COPY),
    Escape("copy-after-a-block-comment", "/* a SELECT */ COPY (SELECT 1) TO '{trap}/c.csv'", COPY),
    Escape("copy-after-a-line-comment", "-- SELECT 1\nCOPY (SELECT 1) TO '{trap}/l.csv'", COPY),
    Escape("copy-after-a-cte", "WITH x AS (SELECT 1) COPY x TO '{trap}/w.csv'", COPY),
    Escape("export-database", "EXPORT DATABASE '{trap}/export'", "EXPORT DATABASE writes files"),
    Escape("import-database", "IMPORT DATABASE '{trap}'", "IMPORT DATABASE reads files"),
    # several statements, however they are hidden
    Escape("select-then-copy", "select 1; copy (select 1) to '{trap}/s.csv'", "2 statements"),
    Escape(
        "copy-after-an-empty-comment",
        "SELECT 1 /**/; COPY (SELECT 1) TO '{trap}/e.csv'",
        "2 statements",
    ),
    Escape(
        "copy-after-a-backslash-quote",
        "SELECT 'a\\'; COPY (SELECT 1) TO '{trap}/b.csv'; --'",
        "2 statements",
    ),
    Escape(
        "copy-after-a-zero-width-space",
        "SELECT 1;\u200bCOPY (SELECT 1) TO '{trap}/z.csv'",
        "does not parse",
    ),
    # files read, listed, or named as tables
    Escape("read-text-of-etc-shadow", "SELECT * FROM read_text('/etc/shadow')", READS),
    Escape("read-csv-auto-of-etc-passwd", "SELECT * FROM read_csv_auto('/etc/passwd')", READS),
    Escape("read-parquet-of-a-data-file", "SELECT * FROM read_parquet('{data_file}')", READS),
    Escape("read-blob-of-a-raw-copy", "SELECT * FROM read_blob('{raw_copy}')", READS),
    Escape("read-json-auto", "SELECT * FROM read_json_auto('/etc/hostname')", READS),
    Escape("parquet-scan", "SELECT * FROM parquet_scan('{data_file}')", READS),
    Escape("delta-scan", "SELECT * FROM delta_scan('{gold}/fact_sales')", READS),
    Escape("iceberg-scan", "SELECT * FROM iceberg_scan('{trap}')", READS),
    Escape("sniff-csv", "SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv() reads files"),
    Escape("glob-of-the-root", "SELECT * FROM glob('/*')", "glob() lists files"),
    Escape(
        "glob-in-exists", "SELECT 1 FROM gold.fact_sales WHERE EXISTS (FROM glob('/*'))", "glob()"
    ),
    Escape(
        "read-text-in-a-subquery", "SELECT (SELECT content FROM read_text('/etc/passwd'))", READS
    ),
    Escape("read-text-quoted", "SELECT * FROM \"READ_TEXT\"('/etc/passwd')", READS),
    Escape("read-text-schema-qualified", "SELECT * FROM main.read_text('/etc/passwd')", READS),
    Escape(
        "read-text-lateral",
        "SELECT * FROM gold.fact_sales, LATERAL read_text('/etc/passwd')",
        READS,
    ),
    Escape("from-a-string", "FROM '/etc/passwd'", QUOTED),
    Escape(
        "select-from-a-parquet-glob",
        "SELECT * FROM 'lakehouse/lakeshop/gold/fact_sales/*.parquet'",
        QUOTED,
    ),
    Escape(
        "select-from-an-absolute-parquet-glob",
        "SELECT * FROM '{lakehouse}/lakeshop/gold/fact_sales/*.parquet'",
        QUOTED,
    ),
    Escape("from-a-quoted-file-name", 'SELECT * FROM "data.csv"', QUOTED),
    Escape(
        "a-string-shadowed-by-a-cte-out-of-scope",
        "SELECT * FROM (WITH \"/etc/passwd\" AS (SELECT 1) SELECT 1) AS t, '/etc/passwd'",
        QUOTED,
    ),
    # other databases, extensions
    Escape("attach-memory", "ATTACH ':memory:' AS m", "ATTACH opens another database"),
    Escape("attach-a-file", "ATTACH '{trap}/x.duckdb' AS x", "ATTACH"),
    Escape("detach", "DETACH memory", "DETACH"),
    Escape("install-httpfs", "INSTALL httpfs", "INSTALL downloads an extension"),
    Escape("force-install", "FORCE INSTALL httpfs", "INSTALL downloads an extension"),
    Escape("load-httpfs", "LOAD httpfs", "LOAD loads an extension"),
    Escape("three-part-name", "SELECT * FROM memory.gold.fact_sales", "another database"),
    # settings, the environment, the engine's state
    Escape("set-memory-limit", "SET memory_limit = '1GB'", "SET changes a setting"),
    Escape("set-external-access", "SET enable_external_access = true", "SET changes a setting"),
    Escape("set-variable", "SET VARIABLE x = 1", "SET changes a setting"),
    Escape("reset", "RESET memory_limit", "RESET changes a setting"),
    Escape("pragma", "PRAGMA enable_profiling", "PRAGMA"),
    Escape("call", "CALL pragma_version()", "CALL"),
    Escape("getenv", "SELECT getenv('HOME')", "getenv() reads the environment"),
    Escape("current-setting", "SELECT current_setting('memory_limit')", "current_setting()"),
    Escape(
        "current-setting-as-a-method",
        "SELECT 'memory_limit'.current_setting()",
        "current_setting()",
    ),
    Escape("duckdb-settings", "SELECT * FROM duckdb_settings()", "duckdb_settings() reveals"),
    Escape("duckdb-views", "SELECT sql FROM duckdb_views()", "duckdb_views() reveals"),
    Escape("pragma-table-info", "SELECT * FROM pragma_table_info('gold.fact_sales')", "reveals"),
    Escape("setseed", "SELECT setseed(0.5)", "setseed() changes the session's state"),
    # SQL given as text, unknown table functions
    Escape(
        "query-of-a-copy", "SELECT * FROM query('COPY (SELECT 1) TO ''x.csv''')", "query() runs SQL"
    ),
    Escape("query-table", "SELECT * FROM query_table('gold.fact_sales')", "query_table()"),
    Escape("test-all-types", "SELECT * FROM test_all_types()", "is a table function"),
    # the catalog and the data
    Escape("create-table", "CREATE TABLE gold.x AS SELECT 1", "CREATE changes the catalog"),
    Escape("create-macro", "CREATE MACRO m(a) AS a", "CREATE changes the catalog"),
    Escape("create-secret", "CREATE SECRET s (TYPE s3, KEY_ID 'k')", "CREATE"),
    Escape("drop-table", "DROP TABLE gold.fact_sales", "DROP changes the catalog"),
    Escape("alter-table", "ALTER TABLE gold.fact_sales ADD COLUMN x INT", "ALTER"),
    Escape("insert", "INSERT INTO gold.fact_sales SELECT * FROM gold.fact_sales", "INSERT"),
    Escape("update", "UPDATE gold.fact_sales SET quantity = 0", "UPDATE writes rows"),
    Escape("delete", "DELETE FROM gold.fact_sales", "DELETE deletes rows"),
    Escape(
        "merge",
        "MERGE INTO gold.fact_sales t USING gold.fact_sales s ON true WHEN MATCHED THEN DELETE",
        "MERGE writes rows",
    ),
    Escape("truncate", "TRUNCATE gold.fact_sales", "TRUNCATE deletes rows"),
    Escape(
        "delete-in-a-cte",
        "WITH d AS (DELETE FROM gold.fact_sales RETURNING *) SELECT * FROM d",
        "DELETE deletes rows, inside the query",
    ),
    Escape("select-into", "SELECT 1 INTO t", "SELECT INTO creates a table"),
    Escape("use", "USE gold", "USE changes the default schema"),
    Escape("checkpoint", "CHECKPOINT", "CHECKPOINT writes the database"),
    Escape("explain-analyze-copy", "EXPLAIN ANALYZE COPY (SELECT 1) TO '{trap}/x.csv'", "EXPLAIN"),
    Escape("describe", "DESCRIBE gold.fact_sales", "DESCRIBE is not a SELECT"),
    # names outside the lakehouse
    Escape("an-unknown-schema", "SELECT * FROM etc.passwd", "no table 'etc.passwd'"),
    Escape(
        "information-schema",
        "SELECT * FROM information_schema.tables",
        "no table 'information_schema.tables'",
    ),
    Escape("an-internal-relation", "SELECT * FROM __delta_gold_fact_sales", "no table '__delta_"),
    Escape("fullwidth-copy", "SELECT * FROM ＣＯＰＹ", "no table 'ＣＯＰＹ'"),
    # nothing, or not SQL
    Escape("empty", "  -- nothing\n", "no statement to run"),
    Escape("does-not-parse", "SELEC 1 FROM gold.fact_sales", "does not parse"),
]


@pytest.mark.parametrize("escape", ESCAPES, ids=[e.id for e in ESCAPES])
def test_an_escape_is_refused_with_its_reason_and_changes_nothing(lake: Lake, escape: Escape):
    files = lake.files()
    with pytest.raises((QueryRefused, TableNotFound)) as refused:
        api.query(lake.project, escape.sql.format(**lake.places))
    message = str(refused.value)
    assert "\n" not in message and escape.reason in message, message
    assert lake.files() == files
    assert not any(lake.trap.iterdir())
    assert lake.row_counts() == lake.counts


def test_escapes_in_one_reading_block_leave_its_engine_settings_as_they_were(lake: Lake):
    with shared_engine(lake.project) as engine:
        before = settings(engine)
        for escape in ESCAPES:
            with pytest.raises((QueryRefused, TableNotFound)):
                api.query(lake.project, escape.sql.format(**lake.places))
            assert settings(engine) == before, escape.id
        assert api.query(lake.project, ORDINARY["runs"]).num_rows  # and the engine still reads


def test_there_are_many_escapes_with_distinct_ids():
    assert len(ESCAPES) >= 30
    assert len({e.id for e in ESCAPES}) == len(ESCAPES)


def test_the_check_runs_before_an_engine_opens(lake: Lake, monkeypatch: pytest.MonkeyPatch):
    """Whatever the engine (Spark included), a refused query never reaches it."""

    def no_engine(*args: object, **kwargs: object) -> None:
        raise AssertionError("an engine was opened")

    monkeypatch.setattr(lake.project, "engine", no_engine)
    with pytest.raises(QueryRefused, match="COPY"):
        api.query(lake.project, f"COPY (SELECT 1) TO '{lake.trap}/x.csv'")
    with pytest.raises(TableNotFound):
        api.query(lake.project, "SELECT * FROM etc.passwd")


def test_the_cli_refuses_a_copy_in_one_line(lake: Lake):
    target = lake.trap / "cli.csv"
    code, out, err = cli(
        "--project", lake.project.directory, "sql", f"COPY (SELECT 42) TO '{target}'"
    )
    line = one_error_line(err)
    assert code != 0 and out == ""
    assert line.startswith("error: query refused: COPY reads and writes files")
    assert not target.exists()


# --- ordinary queries -----------------------------------------------------------------------

ORDINARY = {
    "join-and-aggregate": """
        SELECT p.category, count(*) AS lines, sum(f.sales_total_base) AS revenue
        FROM gold.fact_sales f JOIN gold.dim_product p ON p.product_sk = f.product_sk
        GROUP BY p.category ORDER BY p.category""",
    "window-rank": """
        SELECT product_id, revenue,
               rank() OVER (ORDER BY revenue DESC, product_id) AS place,
               sum(revenue) OVER () AS total
        FROM (SELECT product_id, sum(sales_total_base) AS revenue
              FROM gold.fact_sales GROUP BY product_id)
        ORDER BY place, product_id""",
    "ctes": """
        WITH daily AS (
            SELECT order_date, sum(sales_total_base) AS revenue FROM gold.fact_sales
            GROUP BY order_date
        ), ranked AS (
            SELECT *, revenue - lag(revenue) OVER (ORDER BY order_date) AS change FROM daily
        )
        SELECT * FROM ranked ORDER BY order_date""",
    "union-all-and-union": """
        SELECT 'orders' AS source, count(*) AS n FROM silver.orders
        UNION ALL SELECT 'items', count(*) FROM silver.order_items
        UNION SELECT 'fact', count(*) FROM gold.fact_sales
        ORDER BY source""",
    "subqueries": """
        SELECT o.order_id, o.channel,
               (SELECT count(*) FROM gold.fact_sales f WHERE f.order_id = o.order_id) AS lines
        FROM gold.fact_orders o
        WHERE o.order_id IN (SELECT order_id FROM gold.fact_sales WHERE quantity > 1)
          AND EXISTS (SELECT 1 FROM gold.dim_store s WHERE s.store_id = o.store_id)
        ORDER BY o.order_id LIMIT 50""",
    "qualify-and-from-first": """
        FROM gold.fact_sales SELECT order_id, line_no, quantity
        QUALIFY row_number() OVER (PARTITION BY order_date ORDER BY order_id, line_no) = 1
        ORDER BY order_id, line_no""",
    "runs": """
        SELECT status, trigger, count(*) AS runs, min(started_at) <= max(started_at) AS ordered
        FROM _system.runs GROUP BY ALL ORDER BY ALL""",
    "events-of-the-latest-run": """
        SELECT table_name, rows_in, rows_written, rows_quarantined FROM _system.events
        WHERE run_id = (SELECT max(run_id) FROM _system.runs)
        ORDER BY table_name""",
    "quarantine": """
        SELECT _failed_expectations, count(*) AS n FROM silver.orders__quarantine
        GROUP BY ALL ORDER BY ALL""",
    "rejects": """
        SELECT reason, count(*) AS n FROM bronze.payments__rejects GROUP BY ALL ORDER BY ALL""",
    "values-and-a-date-spine": """
        SELECT d.day::DATE AS day, c.channel, coalesce(sum(f.quantity), 0) AS units
        FROM range(DATE '2026-01-01', DATE '2026-01-05', INTERVAL 1 DAY) AS d(day)
        CROSS JOIN (VALUES ('online'), ('store')) AS c(channel)
        LEFT JOIN gold.fact_sales f ON f.order_date = d.day AND f.channel = c.channel
        GROUP BY ALL ORDER BY ALL""",
    "unnest-and-except": """
        SELECT x FROM unnest([1, 2, 3, 4]) AS t(x)
        EXCEPT SELECT quantity FROM gold.fact_sales WHERE quantity > 2
        ORDER BY x""",
    "intersect-and-generate-series": """
        SELECT quantity FROM gold.fact_sales
        INTERSECT SELECT * FROM generate_series(1, 3)
        ORDER BY 1""",
}


def unrestricted(project: Project, sql: str) -> list[dict[str, Any]]:
    """What the query returned before: an engine with no restriction, its tables bound."""
    with DuckDBEngine(project.lakehouse()) as engine:
        for name in sorted(referenced_tables(sql)):
            engine.bind_table(name)
        return list(engine.fetch(sql).to_pylist())


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_an_ordinary_query_returns_what_it_returned_before(lake: Lake, name: str):
    sql = ORDINARY[name]
    found = api.query(lake.project, sql).to_pylist()
    assert found == unrestricted(lake.project, sql)
    assert found, "the query returned no rows: it shows nothing"


def test_queries_in_one_reading_block_share_a_restricted_engine(lake: Lake):
    with shared_engine(lake.project) as engine:
        for name in ("runs", "quarantine", "join-and-aggregate"):
            assert api.query(lake.project, ORDINARY[name]).num_rows
        assert settings(engine)["lock_configuration"] == "true"
        assert settings(engine)["enable_external_access"] == "false"


# --- the reader engine on its own -----------------------------------------------------------


@pytest.fixture
def reader(lake: Lake) -> Iterator[DuckDBEngine]:
    """The engine of read-only queries, restricted, with gold.fact_sales bound."""
    engine = lake.project.engine()
    assert isinstance(engine, DuckDBEngine)
    with engine:
        engine.restrict_to_reading()
        engine.bind_table("gold.fact_sales")
        yield engine


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '{trap}/x.csv'",
        "SELECT 1; COPY (SELECT 1) TO '{trap}/y.csv'",
        "SET memory_limit = '1GB'",
        "ATTACH ':memory:' AS m",
    ],
    ids=["copy", "two-statements", "set", "attach"],
)
def test_the_reader_engine_runs_one_select_as_duckdb_parses_it(
    lake: Lake, reader: DuckDBEngine, sql: str
):
    """What would get past the sqlglot check is refused by DuckDB's own parser."""
    with pytest.raises(QueryRefused, match="DuckDB reads"):
        reader.fetch(sql.format(**lake.places))
    assert not any(lake.trap.iterdir())


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("COPY (SELECT 42) TO '{trap}/x.csv'", "Permission"),
        ("SELECT * FROM read_text('/etc/passwd')", "Permission"),
        ("SELECT * FROM read_blob('{raw_copy}')", "Permission"),
        ("SELECT * FROM glob('/*')", "Permission"),
        ("ATTACH '{trap}/x.duckdb' AS x", "Permission"),
        ("INSTALL httpfs", "Permission"),
        ("LOAD httpfs", "Permission|disabled"),
        ("SET enable_external_access = true", "locked|Cannot change"),
        ("SET allowed_directories = ['/']", "locked|Cannot change"),
        ("SET memory_limit = '1GB'", "locked"),
        ("RESET lock_configuration", "locked"),
    ],
    ids=[
        "copy-out",
        "read-etc-passwd",
        "read-a-raw-copy",
        "glob",
        "attach-a-file",
        "install",
        "load",
        "external-access-back",
        "allowed-directories-widened",
        "memory-limit",
        "lock-reset",
    ],
)
def test_the_reader_connection_cannot_reach_files_extensions_or_settings(
    lake: Lake, reader: DuckDBEngine, sql: str, error: str
):
    """Defence in depth: the connection itself, bypassing both parsers."""
    before = settings(reader)
    with pytest.raises(duckdb.Error, match=error):
        reader.con.execute(sql.format(**lake.places)).fetchall()
    assert settings(reader) == before
    assert not any(lake.trap.iterdir())
    assert (
        reader.fetch("SELECT count(*) AS n FROM gold.fact_sales").column("n")[0].as_py()
        == (lake.counts["gold.fact_sales"])
    )


def test_the_writer_engine_is_not_restricted(lake: Lake, reader: DuckDBEngine):
    with DuckDBEngine(lake.project.lakehouse()) as writer:
        values = settings(writer)
        assert values["enable_external_access"] == "true"
        assert values["lock_configuration"] == "false"
        count = writer.fetch(f"SELECT count(*) AS n FROM read_text('{lake.places['raw_copy']}')")
        assert count.column("n")[0].as_py() == 1

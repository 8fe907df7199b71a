"""The command line, in-process (CliRunner) and as the installed console script."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshop.app.project import Project
from lakeshop.cli.output import progress_line
from lakeshop.pipeline.context import TableResult
from lakeshop.pipeline.model import Kind
from lakeshop.pipeline.runner import TableOutcome

COMMANDS = [
    "generate",
    "run",
    "sql",
    "status",
    "quality",
    "demo",
    "query",
    "doctor",
    "maintain",
    "history",
    "lineage",
    "replay",
    "report",
    "serve",
    "access",
]
LAKESHOP = Path(sys.executable).with_name("lakeshop")

from tests.conftest import Prebuilt, cli, one_error_line  # noqa: E402


@pytest.fixture(scope="module")
def demo(prebuilt: Prebuilt, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the lakehouse built by ``lakeshop demo`` on a few small days (these tests
    run commands that write to it)."""
    made = prebuilt.demo()
    directory, out = made.directory, made.output
    assert "generated" in out and "gold.agg_daily_sales" in out and "Revenue by channel" in out
    # the headline numbers from gold: 30-day revenue by channel, top products, completion
    assert "last 30 days" in out and "Top products" in out and "Order completion" in out
    assert "Completed" in out and "P0" in out
    # and the visual report, named by its path
    page = (directory / "report.html").resolve()
    assert f"report: {page}" in out.replace("\n", "") and page.stat().st_size > 1_000_000
    return prebuilt.demo_copy(tmp_path_factory.mktemp("cli") / "demo")


# --- help and imports -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_of_every_command(command: str | None):
    code, out, _ = cli(*([command] if command else []), "--help")
    assert code == 0
    assert "Usage" in out and "--help" in out


def test_building_the_cli_imports_no_engine():
    script = (
        "import sys\n"
        "from lakeshop.cli import app\n"
        "from typer.main import get_command\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "get_command(app)\n"
        "heavy = sorted(m for m in ('duckdb', 'pyspark', 'deltalake', 'pyarrow', 'sqlglot') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


# --- generate -------------------------------------------------------------------------------


def test_generate_writes_landing_files(tmp_path: Path):
    code, out, _ = cli("generate", "--out", tmp_path / "landing", "--scale", "0.02", "--days", "1")
    assert code == 0 and "generated" in out
    assert (tmp_path / "landing" / "_ledger.json").exists()
    assert list((tmp_path / "landing").rglob("orders_*.csv"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--days", "0"], ["--days", "1"]),
        (["--scale", "-1"], ["--scale", "> 0", "-1"]),
        (["--scale", "0"], ["--scale", "> 0"]),
        (["--start-date", "2026-13-01"], ["--start-date", "YYYY-MM-DD", "2026-13-01"]),
        (["--defects", "0.9"], ["--defects"]),
    ],
)
def test_generate_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], words: list[str]
):
    code, _, err = cli("generate", "--out", tmp_path / "x", *args)
    assert code == 2
    line = one_error_line(err)
    for w in words:
        assert w in line
    assert not (tmp_path / "x").exists()


# --- sql ------------------------------------------------------------------------------------

COUNT = "SELECT count(*) AS n FROM gold.agg_daily_sales"


def test_sql_table_csv_json(demo: Path):
    code, out, _ = cli("--project", demo, "sql", COUNT)
    assert code == 0 and "n" in out and "1 row(s)" in out
    code, out, _ = cli("--project", demo, "sql", COUNT, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1 and int(rows[0]["n"]) > 0
    code, out, _ = cli("--project", demo, "sql", COUNT, "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": int(rows[0]["n"])}]


def test_sql_json_keeps_long_values_on_one_line(demo: Path):
    query = "SELECT repeat('x', 300) AS long, 1.5::DECIMAL(10,2) AS amount, DATE '2026-01-02' AS d"
    code, out, _ = cli("--project", demo, "sql", query, "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"long": "x" * 300, "amount": "1.50", "d": "2026-01-02"}]


@pytest.mark.parametrize("name", ["gold.nope", "nope"])
def test_sql_unknown_table_names_it_and_the_known_ones(demo: Path, name: str):
    code, _, err = cli("--project", demo, "sql", f"SELECT * FROM {name}")
    line = one_error_line(err)
    assert code == 1
    assert f"no table '{name}'" in line and "gold.agg_daily_sales" in line


def test_sql_bad_format_exits_2(demo: Path):
    code, _, err = cli("--project", demo, "sql", COUNT, "--format", "xml")
    assert code == 2 and "--format" in one_error_line(err)


def test_sql_that_does_not_parse_is_one_line(demo: Path):
    code, _, err = cli("--project", demo, "sql", "SELEC 1 FROM gold.agg_daily_sales")
    assert code == 1 and "does not parse" in one_error_line(err)


# --- run ------------------------------------------------------------------------------------


def test_a_second_run_writes_nothing(demo: Path):
    code, out, _ = cli("--project", demo, "run")
    assert code == 0
    lines = out.strip().splitlines()
    tables = len(Project.load(demo).graph.tables)
    assert len(lines) == tables + 1  # a line per table and the summary
    assert all(re.match(r"ok\s+\S+\s+in 0 → 0 written", line) for line in lines[:-1]), out
    assert re.search(
        rf"run \S+ ok: {tables} tables ok, 0 failed, 0 skipped; 0 rows written", lines[-1]
    )


def test_run_select_runs_only_that_table(demo: Path):
    code, out, _ = cli("--project", demo, "run", "--select", "silver.orders")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and "silver.orders" in lines[0] and "1 tables ok" in lines[1]


def test_run_select_unknown_table(demo: Path):
    code, _, err = cli("--project", demo, "run", "--select", "nope.table")
    line = one_error_line(err)
    assert code == 2 and "nope.table" in line and "silver.orders" in line


def test_run_unknown_target_names_the_known_ones(demo: Path):
    code, _, err = cli("--project", demo, "run", "--target", "missing")
    line = one_error_line(err)
    assert code == 2 and "'missing'" in line and "dev" in line


def test_progress_line_is_compact():
    result = TableResult(
        rows_in=1785, rows_written=1517, rows_quarantined=18, rows_deduplicated=250
    )
    outcome = TableOutcome("silver.orders", Kind.UPSERT, "ok", result, seconds=0.12)
    text = re.sub(r"\[/?[a-z]*\]", "", progress_line(outcome, 20))
    assert (
        text
        == "ok      silver.orders         in 1,785 → 1,517 written, 18 quarantined, 250 dedup  0.12s"
    )
    assert len(text) <= 90
    failed = TableOutcome(
        "gold.x", Kind.MATERIALIZED, "failed", seconds=0.5, error="boom\nline two"
    )
    assert "boom line two" in progress_line(failed) and "\n" not in progress_line(failed)


# --- status and quality ---------------------------------------------------------------------


def test_status_names_every_table(demo: Path):
    code, out, _ = cli("--project", demo, "status")
    assert code == 0
    for name in ("bronze.orders", "silver.orders", "gold.agg_daily_sales", "last_status"):
        assert name in out
    code, out, _ = cli("--project", demo, "status", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["table"] for r in rows} >= {"silver.customers", "gold.agg_daily_sales"}
    assert all(r["last_status"] == "ok" for r in rows)


def test_quality_names_tables_and_expectations(demo: Path):
    code, out, _ = cli("--project", demo, "quality")
    assert code == 0 and "expectation" in out and "silver.orders" in out and "pass_rate" in out
    code, out, _ = cli(
        "--project", demo, "quality", "--table", "silver.customers_history", "--format", "json"
    )
    rows = json.loads(out)["expectations"]
    assert code == 0 and rows and {r["table_name"] for r in rows} == {"silver.customers_history"}
    assert "email_valid" in {r["expectation"] for r in rows}
    assert (
        sum(r["passed"] + r["failed"] for r in rows) > 0
    )  # the run that saw rows, not the latest empty one


def test_quality_unknown_table_or_run(demo: Path):
    code, _, err = cli("--project", demo, "quality", "--table", "silver.nope")
    assert code == 1 and "silver.nope" in one_error_line(err)
    code, _, err = cli("--project", demo, "quality", "--run", "bogus")
    assert code == 1 and "bogus" in one_error_line(err)


# --- configuration errors through the CLI ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("bogus: 1\n", "bogus"),
        ("sources: {nope: {path: x}}\n", "sources.nope"),
        ("sources: {orders: {path: x, format: xls}}\n", "sources.orders.format"),
        ("sources: {orders: {path: x, mapping: {nofield: a}}}\n", "sources.orders.mapping.nofield"),
        (
            "sources: {orders: {path: x, mapping: {order_id: {sql: 'a +* FROM'}}}}\n",
            "sources.orders.mapping.order_id.sql",
        ),
        ("a: [1\n", "(YAML syntax)"),
        ("default_target: prod\n", "default_target"),
        ("targets: {dev: {root: x, rot: y}}\n", "targets.dev.rot"),
    ],
)
def test_config_errors_exit_2_with_one_line(tmp_path: Path, text: str, key: str):
    (tmp_path / "lakeshop.yml").write_text(text)
    code, _, err = cli("--project", tmp_path, "status")
    assert code == 2
    line = one_error_line(err)
    assert "lakeshop.yml" in line and f"setting '{key}': expected" in line


# --- the installed console script -----------------------------------------------------------


def test_console_script_errors_are_one_line_and_debug_shows_the_traceback(tmp_path: Path):
    (tmp_path / "lakeshop.yml").write_text("sources: {orders: {path: x, format: xls}}\n")
    plain = subprocess.run(
        [str(LAKESHOP), "--project", str(tmp_path), "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 2 and plain.stdout == ""
    assert "sources.orders.format" in one_error_line(plain.stderr)
    debug = subprocess.run(
        [str(LAKESHOP), "--project", str(tmp_path), "--debug", "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_python_dash_m_runs_the_cli(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "lakeshop.cli", "generate", "--out", str(tmp_path), "--days", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--days" in one_error_line(done.stderr)

"""Project models (models/*.sql + declaration): how they join the graph, and how a broken one
is refused with one line naming its file and line while the rest of the graph stays."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lakeshop.app.models.scaffold import write_examples
from lakeshop.app.project import Project, write_demo_config
from lakeshop.pipeline.model import Action, Kind
from tests.conftest import cli, one_error_line


def model(root: Path, name: str, sql: str, yml: str | None = None) -> None:
    folder = root / "models"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sql").write_text(textwrap.dedent(sql).lstrip())
    if yml is not None:
        (folder / f"{name}.yml").write_text(textwrap.dedent(yml).lstrip())


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_demo_config(tmp_path)
    monkeypatch.chdir(tmp_path)  # errors name files relative to the working folder
    return tmp_path


MARGIN_SQL = """
SELECT order_date AS sales_date, SUM(sales_total_base) AS revenue
FROM gold.fact_sales
GROUP BY order_date
"""
MARGIN_YML = """
description: Revenue per day.
owner: finance@example.com
kind: materialized
keys: [sales_date]
incremental_by: sales_date
touched:
  gold.fact_sales: SELECT order_date FROM gold.fact_sales
columns:
  revenue: Revenue of the day.
expectations:
  - name: revenue_known
    check: revenue IS NOT NULL
    action: warn
  - name: day_present
    check: sales_date IS NOT NULL
    action: fail
"""


def test_a_model_joins_the_graph_with_its_declaration(root: Path):
    model(root, "revenue", MARGIN_SQL, MARGIN_YML)
    model(root, "top_days", "SELECT * FROM gold.revenue WHERE revenue > 100\n", "kind: view\n")
    project = Project.load(root)
    t = project.graph.tables["gold.revenue"]
    assert (t.kind, t.keys, t.incremental_by, t.owner) == (
        Kind.MATERIALIZED,
        ("sales_date",),
        "sales_date",
        "finance@example.com",
    )
    assert t.column_docs == {"revenue": "Revenue of the day."}
    assert [(e.name, e.action, e.origin) for e in t.expectations] == [
        ("revenue_known", Action.WARN, "models/revenue.yml:11"),
        ("day_present", Action.FAIL, "models/revenue.yml:14"),
    ]
    # dependencies inferred from the SQL: on a built-in table, and on another model
    assert project.graph.upstream["gold.revenue"] == {"gold.fact_sales"}
    assert project.graph.upstream["gold.top_days"] == {"gold.revenue"}
    order = project.graph.order()
    assert (
        order.index("gold.fact_sales") < order.index("gold.revenue") < order.index("gold.top_days")
    )
    assert project.models.refused == {}
    # lineage shows the declaration: which file, its owner, descriptions
    code, out, _ = cli("--project", root, "lineage", "gold.revenue", "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["upstream"] == sorted(project.graph.ancestors("gold.revenue"))
    assert (found["defined_by"], found["owner"], found["column_descriptions"]) == (
        "models/revenue.sql (project model)",
        "finance@example.com",
        {"revenue": "Revenue of the day."},
    )
    code, out, _ = cli("--project", root, "lineage", "gold.revenue.revenue")
    assert code == 0 and out.splitlines()[1] == "description: Revenue of the day."
    assert "landing.order_items.unit_price" in out  # down to the landing fields


def test_a_header_block_declares_a_model_and_retry_holds_rows(root: Path):
    model(
        root,
        "paid_orders",
        """
        -- ---
        -- kind: append
        -- schema: finance
        -- keys: [payment_id]
        -- expectations:
        --   - {name: order_known, check: "order_id IN (SELECT order_id FROM silver.orders)", action: retry}
        -- ---
        SELECT payment_id, order_id, amount FROM silver.payments;
        """,
    )
    t = Project.load(root).graph.tables["finance.paid_orders"]
    assert t.kind is Kind.APPEND and t.keys == ("payment_id",)
    [e] = t.expectations
    assert (e.action, e.retry, e.origin) == (Action.DROP, True, "models/paid_orders.sql:6")
    assert not t.sql.rstrip().endswith(";")


@pytest.mark.parametrize(
    ("sql", "yml", "expected"),
    [
        pytest.param(
            "SELECT order_id,\n  FROM (silver.orders\n",
            "kind: view\n",
            "models/broken.sql:2:21: SQL syntax error",
            id="syntax-error",
        ),
        pytest.param(
            "SELECT order_id\nFROM silver.order\n",
            "kind: view\n",
            "models/broken.sql:2:6: unknown table silver.order; did you mean silver.orders?",
            id="unknown-table",
        ),
        pytest.param(
            "SELECT order_id,\n       o.no_such_column\nFROM silver.orders AS o\n",
            "kind: view\n",
            "models/broken.sql:2:8: unknown column 'no_such_column' of o",
            id="unknown-column",
        ),
        pytest.param(
            "SELECT 1 AS a\n",
            "description: x\nkind: snapshot\n",
            "models/broken.yml:2: 'kind': expected one of 'append', 'upsert', 'scd2', "
            "'materialized' or 'view', found 'snapshot'",
            id="bad-kind",
        ),
        pytest.param(
            "SELECT order_id FROM silver.orders\n",
            "kind: upsert\nsequence: updated_at\n",
            "models/broken.yml:1: kind upsert: needs keys",
            id="upsert-without-keys",
        ),
        pytest.param(
            "SELECT order_id FROM silver.orders\n",
            "kind: upsert\nkeys: [order_id]\nsequence: updated_at\n",
            "models/broken.yml:3: column 'updated_at' is not one its SQL returns (order_id)",
            id="sequence-not-returned",
        ),
        pytest.param(
            "SELECT order_id FROM silver.orders\n",
            "kind: materialized\nexpectations:\n  - {name: x, check: total > 0, action: warn}\n",
            "models/broken.yml:3: check of 'x': ",
            id="check-on-unknown-column",
        ),
        pytest.param(
            "SELECT order_id FROM silver.orders\n",
            "kind: view\nowner: me\ncolour: blue\n",
            "models/broken.yml:3: unknown key 'colour'",
            id="unknown-key",
        ),
        pytest.param(
            "SELECT order_id FROM silver.orders\n",
            "kind: view\nschema: bronze\n",
            "models/broken.yml:2: schema 'bronze' is lakeshop's own",
            id="bronze-schema",
        ),
        pytest.param(
            "SELECT 1 AS a\n",
            None,
            "models/broken.sql: no declaration",
            id="no-declaration",
        ),
        pytest.param(
            "DELETE FROM silver.orders\n",
            "kind: view\n",
            "models/broken.sql:1: one SELECT expected, found DELETE",
            id="not-a-select",
        ),
    ],
)
def test_a_broken_model_is_refused_naming_file_and_line(
    root: Path, sql: str, yml: str | None, expected: str
):
    model(root, "revenue", MARGIN_SQL, MARGIN_YML)
    model(root, "broken", sql, yml)
    model(root, "after_broken", "SELECT * FROM gold.broken\n", "kind: view\n")
    project = Project.load(root)
    error = str(project.models.refused["gold.broken"])
    assert error.startswith(expected), error
    assert "\n" not in error
    broken = project.graph.tables["gold.broken"]
    assert broken.refused == error
    # the rest of the graph is there: the good model, the built-ins; what reads the broken
    # one is declared and skipped at run time (its upstream fails)
    assert "gold.revenue" not in project.models.refused
    assert project.graph.tables["gold.revenue"].refused is None
    assert len(project.graph.tables) > 50


def test_a_cycle_refuses_the_models_in_it(root: Path):
    model(root, "a", "SELECT x FROM gold.b\n", "kind: view\n")
    model(root, "b", "SELECT x\nFROM gold.a\n", "kind: view\n")
    model(root, "c", "SELECT 1 AS x\n", "kind: view\n")
    project = Project.load(root)
    assert str(project.models.refused["gold.a"]) == (
        "models/a.sql:1:15: dependency cycle: gold.a -> gold.b -> gold.a"
    )
    assert str(project.models.refused["gold.b"]).startswith("models/b.sql:2:6: dependency cycle")
    assert "gold.c" not in project.models.refused


def test_an_override_replaces_a_built_in_gold_table_and_lineage_says_so(root: Path):
    model(
        root,
        "agg_daily_sales",
        """
        SELECT order_date AS sales_date, channel, SUM(sales_total_base) AS total_revenue
        FROM gold.fact_sales
        GROUP BY ALL
        """,
        "kind: materialized\nkeys: [sales_date, channel]\n",
    )
    project = Project.load(root)
    t = project.graph.tables["gold.agg_daily_sales"]
    assert t.replaces_builtin and t.origin == "models/agg_daily_sales.sql"
    assert project.graph.upstream["gold.agg_daily_sales"] == {"gold.fact_sales"}
    code, out, _ = cli("--project", root, "lineage", "gold.agg_daily_sales")
    assert code == 0
    assert "defined by: models/agg_daily_sales.sql (project model, replaces the built-in)" in out
    code, out, _ = cli("--project", root, "lineage", "gold.daily_revenue", "--format", "json")
    assert json.loads(out)["defined_by"] == "lakeshop (built-in)"


def test_a_model_may_not_replace_a_silver_table(root: Path):
    model(root, "orders", "SELECT 1 AS order_id\n", "kind: view\nschema: silver\n")
    project = Project.load(root)
    assert str(project.models.refused["silver.orders"]) == (
        "models/orders.yml:2: silver.orders is already a built-in table (only gold ones can be)"
    )
    assert project.graph.tables["silver.orders"].refused is None  # lakeshop's own is kept


@pytest.mark.parametrize("kind", ["append", "upsert", "scd2", "materialized", "view"])
def test_new_model_writes_a_starting_point_that_compiles(root: Path, kind: str):
    code, out, err = cli("--project", root, "new", "model", f"my_{kind}", "--kind", kind)
    assert code == 0, err
    assert (root / "models" / f"my_{kind}.yml").read_text().count("#") > 3  # commented
    project = Project.load(root)
    assert project.models.refused == {}
    assert project.graph.tables[f"gold.my_{kind}"].kind is Kind(kind)
    code, out, err = cli("--project", root, "compile", f"my_{kind}")
    assert code == 0, err
    assert "-- duckdb" in out and "-- spark" in out
    assert "`silver__" in out or "`gold__" in out
    code, _, err = cli("--project", root, "new", "model", f"my_{kind}", "--kind", kind)
    assert code == 2 and "exists" in one_error_line(err)


def test_compile_shows_each_engine_and_fails_on_what_spark_lacks(root: Path):
    write_examples(root)
    code, out, err = cli("--project", root, "compile", "net_margin_daily")
    assert code == 0, err
    assert "gold.net_margin_daily [materialized] defined by models/net_margin_daily.sql" in out
    assert "FROM `gold__fact_sales` AS s" in out  # the view Spark binds
    model(
        root,
        "spark_less",
        "SELECT order_id,\n       regexp_extract(status, 'x', 1, 'i') AS code\nFROM silver.orders\n",
        "kind: view\n",
    )
    code, _, err = cli("--project", root, "compile", "spark_less")
    assert code == 2
    line = one_error_line(err)
    # placed at the first name inside the construct (status, its first argument)
    assert line.startswith("error: models/spark_less.sql:2:23: does not transpile to Spark SQL")
    assert "RegexpExtract" in line
    model(root, "broken", "SELECT nope FROM silver.orders\n", "kind: view\n")
    code, _, err = cli("--project", root, "compile", "broken")
    assert code == 2
    assert one_error_line(err) == "error: models/broken.sql:1:8: unknown column 'nope'"

"""The query API of ``lakeshop serve`` over HTTP: formats, the catalog, saved queries, login."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest

from lakeshop.app import api

from .conftest import Running


def test_sql_answers_json_arrow_and_csv_with_the_same_rows(server: Running) -> None:
    sql = "SELECT sales_date, channel, total_revenue FROM gold.agg_daily_sales ORDER BY 1, 2"
    expected = api.query(server.project, sql)
    as_json = server.sql("ada", sql)
    assert as_json.status_code == 200, as_json.text
    body = as_json.json()
    assert [c["name"] for c in body["columns"]] == expected.column_names
    assert body["row_count"] == expected.num_rows > 0 and body["truncated"] is False
    assert [r["channel"] for r in body["rows"]] == expected["channel"].to_pylist()
    with server.client("ada") as c:
        arrow = c.post(
            "/api/sql", json={"sql": sql}, headers={"Accept": "application/vnd.apache.arrow.stream"}
        )
        assert arrow.headers["content-type"].startswith("application/vnd.apache.arrow.stream")
        assert pa.ipc.open_stream(arrow.content).read_all().equals(expected)
        as_csv = c.post("/api/sql", json={"sql": sql, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["channel"] for r in rows] == expected["channel"].to_pylist()


def test_csv_escapes_cells_that_would_be_formulas(server: Running) -> None:
    sql = (
        "SELECT * FROM (VALUES ('=1+1', 1), ('+cmd', 2), ('-2', 3), ('@SUM(A1)', 4), "
        "('plain', 5), (NULL, 6)) AS t(cell, n) ORDER BY n"
    )
    response = server.sql("ada", sql, format="csv")
    assert response.status_code == 200, response.text
    cells = [r["cell"] for r in csv.DictReader(io.StringIO(response.text))]
    assert cells == ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "plain", ""]


def test_row_cap_cuts_and_says_so(server: Running) -> None:
    # ana's role (analyst) reads at most 10,000 rows
    response = server.sql("ana", "SELECT * FROM range(20000)")
    assert response.status_code == 200, response.text
    assert response.json()["row_count"] == 10_000 and response.json()["truncated"] is True
    assert response.headers["x-lakeshop-truncated"] == "true"


def test_parameters_are_put_in_as_literals(server: Running) -> None:
    sql = "SELECT count(*) AS n FROM gold.fact_sales WHERE channel = $channel"
    response = server.sql("ada", sql, params={"channel": "online' OR '1'='1"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [{"n": 0}]  # the quote is part of the value
    online = server.sql("ada", sql, params={"channel": "online"}).json()["rows"][0]["n"]
    assert (
        online
        == api.query(
            server.project, "SELECT count(*) FROM gold.fact_sales WHERE channel = 'online'"
        )
        .column(0)[0]
        .as_py()
    )


def test_catalog_lists_what_the_role_may_see(server: Running) -> None:
    with server.client("ana") as c:
        tables = {t["name"]: t for t in c.get("/api/tables").json()}
    assert tables and all(name.startswith("gold.") for name in tables)
    customer = tables["gold.dim_customer"]
    columns = {col["name"]: col for col in customer["columns"]}
    assert columns["email"]["masked"] and not columns["customer_id"]["masked"]
    # definitions from docs/gold.md (the page shipped in the package)
    assert customer["description"] and columns["valid_from"]["description"]
    assert (
        customer["rows"]
        == server.project.lakehouse().delta("gold.dim_customer").to_pyarrow_dataset().count_rows()
    )
    assert customer["last_commit_ms"] and customer["version"] is not None
    assert "silver.customers_history" in [u["name"] for u in customer["upstream"]]
    # ana may not read silver: the lineage names it, without a link
    assert all(u["link"] is None for u in customer["upstream"] if u["name"].startswith("silver."))
    assert "aggregated" not in (customer["description"] or "")  # the grain, from docs/gold.md
    assert customer["description"] == "customer version (SCD2)"
    revenue = {c["name"]: c for c in tables["gold.agg_daily_sales"]["columns"]}
    assert revenue["total_revenue"]["description"].startswith("`total_revenue` = Σ")
    checks = {e["expectation"]: e for e in tables["gold.fact_sales"]["expectations"]}
    stored = api.quality(server.project, table="gold.fact_sales").to_pylist()
    assert checks and {c["expectation"]: c["pass_rate"] for c in stored} == {
        k: v["pass_rate"] for k, v in checks.items()
    }
    with server.client("eric") as c:
        names = {t["name"] for t in c.get("/api/tables").json()}
    assert "bronze.customers" in names and "_system.runs" in names and "_system.access" not in names


def test_catalog_counts_rows_through_the_row_filter(server: Running) -> None:
    with server.client("sam") as c:
        sales = c.get("/api/tables/gold.fact_sales").json()
        denied = c.get("/api/tables/silver.orders")
    expected = api.query(
        server.project, "SELECT count(*) FROM gold.fact_sales WHERE store_id = 'S001'"
    )
    assert sales["rows"] == expected.column(0)[0].as_py() and sales["rows_filtered"] is True
    assert denied.status_code == 404


def _reaches(edges: list[list[str]], start: str) -> set[str]:
    found: set[str] = set()
    pending = [start]
    while pending:
        node = pending.pop()
        for up, down in edges:
            if up == node and down not in found:
                found.add(down)
                pending.append(down)
    return found


@pytest.mark.parametrize("user", ["ana", "sam", "eric"])
def test_catalog_lineage_graph_holds_the_tables_the_role_may_see(
    server: Running, user: str
) -> None:
    graph = server.project.graph
    with server.client(user) as c:
        visible = {t["name"] for t in c.get("/api/tables").json()}
        drawn = c.get("/api/tables/gold.fact_sales").json()["lineage"]
    upstream, downstream = graph.ancestors("gold.fact_sales"), graph.downstream("gold.fact_sales")
    nodes = {n["name"]: n for n in drawn["nodes"]}
    assert set(nodes) == ({"gold.fact_sales"} | upstream | downstream) & visible
    assert nodes["gold.fact_sales"]["depth"] == 0
    assert {n for n, v in nodes.items() if v["depth"] < 0} == upstream & visible
    assert {n for n, v in nodes.items() if v["depth"] > 0} == downstream & visible
    for up, down in drawn["edges"]:  # left to right, each standing for a path in the graph
        assert up in graph.ancestors(down) and nodes[up]["depth"] < nodes[down]["depth"]
    # hidden tables between two shown ones are contracted, never dropped: on each side of
    # the table, one shown table reaches another in the drawing iff it does in the pipeline
    for side in (upstream | {"gold.fact_sales"}, downstream | {"gold.fact_sales"}):
        shown = side & set(nodes)
        for table in shown:
            assert _reaches(drawn["edges"], table) & shown == graph.downstream(table) & shown
    if user == "ana":
        assert all(n.startswith("gold.") for n in nodes) and "gold.dim_customer" in nodes


def test_saved_query_runs_governed(server: Running) -> None:
    with server.client("ada") as c:
        listed = {q["name"] for q in c.get("/api/queries").json()}
        whole = c.get("/api/query/sales_performance_30d").json()
    with server.client("sam") as c:
        own = c.get("/api/query/sales_performance_30d").json()
        unknown = c.get("/api/query/no_such_query")
        runs = c.get("/api/query/run_success_rate_30d")  # reads _system.runs: not granted
    assert "sales_performance_30d" in listed
    assert whole["row_count"] >= own["row_count"] > 0
    assert unknown.status_code == 404
    assert runs.status_code == 403


def test_browser_login_sets_safe_cookies_and_needs_csrf(server: Running) -> None:
    with server.client() as c:
        wrong = c.post("/login", json={"user": "ana", "token": server.tokens["fiona"]})
        assert wrong.status_code == 401
        ok = c.post("/login", json={"user": "ana", "token": server.tokens["ana"]})
        assert ok.status_code == 200, ok.text
        cookies = ok.headers.get_list("set-cookie")
        session = next(h for h in cookies if h.startswith("lakeshop_session="))
        assert "HttpOnly" in session and "SameSite=strict" in session
        csrf = ok.json()["csrf"]
        assert c.get("/api/me").json()["role"] == "analyst"
        query = {"sql": "SELECT 1 AS one"}
        assert c.post("/api/sql", json=query).status_code == 403  # no CSRF header
        assert c.post("/api/sql", json=query, headers={"X-CSRF-Token": "x"}).status_code == 403
        cross = c.post(
            "/api/sql", json=query, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        )
        assert cross.status_code == 403
        same = c.post("/api/sql", json=query, headers={"X-CSRF-Token": csrf, "Origin": server.url})
        assert same.status_code == 200 and same.json()["rows"] == [{"one": 1}]
        assert c.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert c.get("/api/me").status_code == 401

"""The commands that read the lakehouse: ``sql``, ``query``, ``status``, ``history`` and
``lineage``."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape

from lakeshop.cli.options import Format, Target, load_project, parse_date, parse_time
from lakeshop.cli.output import OutputFormat, err, out, print_rows, print_table


def sql(
    query: Annotated[
        str, typer.Argument(help="A SELECT over schema.table names, e.g. gold.agg_daily_sales.")
    ],
    fmt: Format = OutputFormat.table,
    target: Target = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Read every table as it was at this time (YYYY-MM-DD[THH:MM[:SS]], UTC "
            "unless an offset is given): Delta time travel.",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=0, help="Read the one table the query reads at this Delta version."
        ),
    ] = None,
) -> None:
    """Query any table of the lakehouse with SQL (DuckDB dialect), now or as it was."""
    from lakeshop.app import api

    when = parse_time("--as-of", as_of) if as_of is not None else None
    print_table(api.query(load_project(), query, target, as_of=when, version=version), fmt)


def query(
    name: Annotated[
        str | None,
        typer.Argument(help="A saved query, e.g. most_sold_product_30d (none: list them)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Date YYYY-MM-DD ending the window (default: latest order date; "
            "for queries over runs, the newest run's date).",
        ),
    ] = None,
    fmt: Format = OutputFormat.table,
    target: Target = None,
) -> None:
    """List the saved analytics queries over gold, or run one."""
    from lakeshop.app import analytics

    day = parse_date("--as-of", as_of) if as_of is not None else None
    if name is None:
        listed = [{"name": q.name, "description": q.description} for q in analytics.saved_queries()]
        print_rows(listed, fmt, ["name", "description"])
        return
    saved = analytics.saved_query(name)
    project = load_project()
    if saved.uses_as_of and day is None:
        day = analytics.default_as_of(project, target, saved)
    elif not saved.uses_as_of and day is not None:
        err.print(
            f"note: {name} has no time window; --as-of is ignored", soft_wrap=True, highlight=False
        )
        day = None
    result = analytics.run_saved(project, name, day, target)
    if fmt is OutputFormat.table:
        when = f" as of {day}" if day is not None else ""
        out.print(f"[bold]{escape(name)}[/]{when}: {escape(saved.description)}", soft_wrap=True)
    print_table(result, fmt)


def status(target: Target = None, fmt: Format = OutputFormat.table) -> None:
    """Each table's rows, version, last refresh, latest status, staleness and freshness;
    then the landing files that match no source."""
    from lakeshop.app import api
    from lakeshop.observe import history as observe

    project = load_project()
    rows = api.status(project, target).to_pylist()
    fresh = observe.freshness(project, target)
    for r in rows:
        ms = r.pop("last_refresh_ms")
        r["last_refresh"] = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "never"
        )
        f = fresh.get(r["table"], {})
        r["latest_data"] = observe.describe_time(f.get("latest_data"))
        r["hours_since_refresh"] = f.get("hours_since_refresh")
    print_rows(rows, fmt)
    unmatched = api.unmatched_files(project)
    if unmatched:
        n = len(unmatched)
        note = (
            f"{n} landing file{' matches' if n == 1 else 's match'} no source's path: "
            + ", ".join(unmatched)
        )
        # beside a csv or json document, on stderr: the document stays one
        (out if fmt is OutputFormat.table else err).print(
            escape(note), soft_wrap=True, highlight=False, style="yellow"
        )


class LineageFormat(StrEnum):
    table = "table"
    json = "json"


def lineage(
    name: Annotated[
        str,
        typer.Argument(
            help="A table (gold.agg_daily_sales) or a column (gold.agg_daily_sales.total_revenue)."
        ),
    ],
    fmt: Annotated[
        LineageFormat, typer.Option("--format", help="Output format.")
    ] = LineageFormat.table,
) -> None:
    """Upstream and downstream tables of a table, or the source columns of a column."""
    from lakeshop.pipeline import lineage as lin

    project = load_project()
    exports = lin.ingested_exports(project.lakehouse(), project.sources)
    found = lin.Lineage(project.graph, project.sources, exports)
    table, column = lin.parse_target(name)
    data: dict[str, Any]
    if column is None:
        data = found.tables(table)
        lines = lin.render_tables(data)
    else:
        node = found.column(table, column)
        lines = lin.render_column(node)
        documented = found.table(table).column_docs.get(column)
        if documented:  # a project model's description of the column
            lines.insert(1, f"description: {documented}")
        leaves = node.leaves()
        data = node.to_dict() | {
            "sources": [leaf.ref for leaf in leaves if leaf.kind == "landing"],
            "not_from_export": [
                {"ref": leaf.ref, "kind": leaf.kind, "expression": leaf.expression}
                for leaf in leaves
                if leaf.kind != "landing"
            ],
        }
    if fmt is LineageFormat.json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for line in lines:
            out.print(line, soft_wrap=True, highlight=False, markup=False)


def history(
    days: Annotated[
        int | None, typer.Option(min=1, help="Only runs within N days of the newest run.")
    ] = None,
    target: Target = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Past runs, newest first: status, duration, tables and rows written."""
    from lakeshop.observe import history as observe

    result = observe.history(load_project(), days, target)
    if fmt is OutputFormat.table and result.num_rows == 0:
        out.print("no runs recorded yet: run `lakeshop run` first", highlight=False)
        return
    print_table(result, fmt)

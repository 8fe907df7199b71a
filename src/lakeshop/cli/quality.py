"""``lakeshop quality`` (expectations, quarantined rows, the trend) and ``lakeshop report``
(the HTML page of charts)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Format, Target, load_project
from lakeshop.cli.output import OutputFormat, err, out, print_table


class QualitySection(StrEnum):
    expectations = "expectations"
    quarantined = "quarantined"
    trend = "trend"
    members = "members"


def quality(
    run_id: Annotated[
        str | None, typer.Option("--run", help="Run id (default: the latest).")
    ] = None,
    table: Annotated[
        str | None, typer.Option(help="Only this table, e.g. silver.customers.")
    ] = None,
    section: Annotated[
        QualitySection | None,
        typer.Option(help="Only this part (needed with --format csv; default: all)."),
    ] = None,
    sample: Annotated[int, typer.Option(min=0, help="Quarantined rows shown per table.")] = 3,
    trend_runs: Annotated[int, typer.Option(min=1, help="Runs in the quarantine-rate trend.")] = 20,
    target: Target = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Expectation pass rates per table for a run, a sample of the rows it quarantined with
    their reasons, and the quarantine rate over runs."""
    from lakeshop.observe import quality as q

    if fmt is OutputFormat.csv and section is None:
        raise typer.BadParameter(
            "--format csv prints one part: add --section expectations, quarantined, trend or members",
            param_hint="'--section'",
        )
    found = q.report(
        load_project(), run_id, table, sample_rows=sample, trend_runs=trend_runs, target=target
    )
    parts = {
        QualitySection.expectations: found.expectations,
        QualitySection.quarantined: found.quarantined,
        QualitySection.trend: found.trend.drop_columns(["is_total"]),
        QualitySection.members: found.members,
    }
    if fmt is not OutputFormat.table:
        if section is not None:
            print_table(parts[section], fmt)
        else:
            whole = {"run_id": found.run_id} | {s.value: t.to_pylist() for s, t in parts.items()}
            typer.echo(json.dumps(whole, default=str, indent=2))
        return
    if found.run_id is None:
        out.print("no expectations recorded yet: run `lakeshop run` first", highlight=False)
        return
    scope = table or f"all {q.QUARANTINE_SCHEMA} tables"
    titles = {
        QualitySection.expectations: f"expectations of run {found.run_id}",
        QualitySection.quarantined: f"rows quarantined or rejected by run {found.run_id} "
        f"(up to {sample} per table), with the expectations they failed or why",
        QualitySection.trend: f"quarantine rate over the last {trend_runs} runs ({scope})",
        QualitySection.members: "revenue on guest and inferred members (gold.fact_sales, base)",
    }
    for part, rows in parts.items():
        if section is not None and part is not section:
            continue
        out.print(f"\n[bold]{escape(titles[part])}[/]", soft_wrap=True, highlight=False)
        if part is QualitySection.expectations:
            rows = rows.drop_columns(["run_id"])
        if rows.num_rows == 0:
            out.print("none", highlight=False)
        else:
            print_table(rows, fmt)


def report(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: report.html in the project)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Days shown, back from the latest data.")] = 30,
    target: Target = None,
) -> None:
    """Write one self-contained HTML report: sales, quality, runs and fired alerts."""
    from lakeshop.observe import report as reporting

    project = load_project()
    path = out_file if out_file is not None else project.directory / "report.html"
    built = reporting.write(project, path, days=days, target=target)
    for chart, why in built.empty.items():
        err.print(f"note: {chart}: no data ({why})", soft_wrap=True, highlight=False)
    out.print(
        f"report written to {escape(str(path))} ({len(built.rows)} of {len(reporting.CHARTS)} "
        f"charts with data, {built.alerts} alert(s))",
        soft_wrap=True,
        highlight=False,
    )

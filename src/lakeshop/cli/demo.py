"""``lakeshop generate`` (a synthetic retailer's files) and ``lakeshop demo`` (generate, run,
show the headlines and write the report)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Days, Defects, Scale, Seed, check_scale, parse_date
from lakeshop.cli.output import OutputFormat, out, print_table, progress, summarise

if TYPE_CHECKING:
    from lakeshop.app.project import Project
    from lakeshop.datagen.generator import GenerateResult


def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the landing files into.")],
    days: Days = 7,
    scale: Scale = 0.1,
    seed: Seed = 42,
    start_date: Annotated[str, typer.Option(help="First business day, YYYY-MM-DD.")] = "2026-01-01",
    defects: Defects = 0.02,
    incident: Annotated[
        list[str] | None,
        typer.Option(
            help="Business incident KIND:YYYY-MM-DD, KIND one of revenue-drop, order-outage, "
            "late-files (repeatable; revenue-drop:DATE:CHANNEL for one channel)."
        ),
    ] = None,
    signals: Annotated[
        bool,
        typer.Option(
            "--signals",
            help="Plant known signals for machine learning (category trends, promotions, "
            "intermittent products, a churn hazard) and record them in the ledger.",
        ),
    ] = False,
) -> None:
    """Generate a synthetic retailer's landing files (with a ledger of injected defects)."""
    first = parse_date("--start-date", start_date)
    check_scale(scale)
    from lakeshop.datagen import Incident
    from lakeshop.datagen import generate as gen
    from lakeshop.datagen.incidents import check

    try:
        incidents = [Incident.parse(text) for text in incident or []]
        check(incidents, first, days)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--incident'") from exc
    result = gen(
        out_dir,
        days=days,
        scale=scale,
        seed=seed,
        start_date=first,
        defects=defects,
        incidents=incidents,
        signals=signals,
    )
    out.print(f"generated {_describe(result)} into {out_dir}", soft_wrap=True, highlight=False)


def demo(
    directory: Annotated[
        Path,
        typer.Option("--dir", help="Folder for landing files, lakeshop.yml and the lakehouse."),
    ] = Path("demo"),
    scale: Scale = 0.1,
    days: Days = 14,
    defects: Defects = 0.02,
    seed: Seed = 42,
) -> None:
    """Generate a retailer, run the whole pipeline on it and show what was built."""
    check_scale(scale)
    from lakeshop.app import api
    from lakeshop.app.access.default import write_default_policy
    from lakeshop.app.dashboards.load import write_default_dashboards
    from lakeshop.app.models.scaffold import write_examples
    from lakeshop.app.project import Project, write_demo_config
    from lakeshop.datagen import generate as gen

    clock = time.perf_counter()
    generated = gen(directory / "landing", days=days, scale=scale, seed=seed, defects=defects)
    out.print(
        f"[bold]1/2[/] generated {_describe(generated)} into {escape(str(directory / 'landing'))}",
        soft_wrap=True,
    )
    write_demo_config(directory)
    write_examples(directory)  # two models of the project's own, with their unit tests
    write_default_policy(directory)
    write_default_dashboards(directory)
    project = Project.load(directory)
    out.print(
        f"[bold]2/2[/] running the pipeline into {escape(str(project.lakehouse().root))}",
        soft_wrap=True,
    )
    run = api.run(project, listener=progress(project), trigger="demo")
    summarise(run)
    if run.summary.status == "ok":
        _headlines(project)
    from lakeshop.observe import report as reporting

    page = directory / "report.html"
    reporting.write(project, page)
    out.print(f"\n[bold]report[/]: {escape(str(page.resolve()))}", soft_wrap=True)
    where = escape(str(directory))
    out.print(
        f"\ndemo done in {time.perf_counter() - clock:.1f}s. Try:\n"
        f"  lakeshop --project {where} status\n"
        f'  lakeshop --project {where} sql "SELECT * FROM gold.agg_daily_sales ORDER BY sales_date DESC LIMIT 7"\n'
        f"\ndashboards (Sales, Products, Customers, Payments, Operations, Catalog):\n"
        f"  lakeshop --project {where} access token create ana   # prints ana's token once\n"
        f"  lakeshop --project {where} serve                     # open http://127.0.0.1:8800, log in as ana",
        soft_wrap=True,
        highlight=False,
    )
    if run.summary.status != "ok":
        raise typer.Exit(1)


def _headlines(project: Project) -> None:
    """The demo's closing numbers, from gold: channels, best sellers, order completion."""
    from lakeshop.app import analytics, api

    as_of = analytics.default_as_of(project)
    channels = analytics.run_saved(project, "sales_performance_30d", as_of)
    keep = [
        c
        for c in ("channel", "revenue_base", "orders", "units", "avg_order_value")
        if c in channels.column_names
    ]
    out.print(f"\n[bold]Revenue by channel, last 30 days to {as_of}[/] (base currency USD)")
    print_table(channels.select(keep), OutputFormat.table)
    top = analytics.run_saved(project, "most_sold_product_30d", as_of)
    keep = [
        c
        for c in ("rank", "product_id", "name", "category", "units", "revenue_base")
        if c in top.column_names
    ]
    out.print("\n[bold]Top products, last 30 days[/] (delivered lines)")
    print_table(top.select(keep).slice(0, 5), OutputFormat.table)
    completion = api.query(
        project,
        "SELECT completion_status, count(*) AS orders, "
        "CAST(ROUND(100.0 * count(*) / sum(count(*)) OVER (), 1) AS DECIMAL(5, 1)) AS pct "
        "FROM gold.fact_orders GROUP BY completion_status ORDER BY orders DESC",
    )
    out.print("\n[bold]Order completion[/] (all orders)")
    print_table(completion, OutputFormat.table)


def _describe(result: GenerateResult) -> str:
    return (
        f"{result.files} files, {result.total_rows:,} rows, {result.defects:,} injected defects "
        f"in {result.seconds:.1f}s"
    )

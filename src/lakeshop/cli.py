"""The ``lakeshop`` command line: one clear line and an exit code for every error."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from lakeshop.errors import ConfigError, LakeshopError

app = typer.Typer(
    name="lakeshop",
    help="A retail sales lakehouse on your laptop: landing files → bronze → silver → gold.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class State:
    project_dir: Path = Path(".")
    debug: bool = False


@app.callback()
def _main(
    project: Annotated[Path, typer.Option("--project", "-p", help="Project folder (holds lakeshop.yml).")] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    State.project_dir, State.debug = project, debug


def _project() -> Any:
    from lakeshop.project import Project

    return Project.load(State.project_dir)


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the landing files into.")],
    days: Annotated[int, typer.Option(help="Number of business days to generate.")] = 7,
    scale: Annotated[float, typer.Option(help="Scale factor per day (1 ≈ 20,000 order lines a day).")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    start_date: Annotated[str, typer.Option(help="First business day, YYYY-MM-DD.")] = "2026-01-01",
    defects: Annotated[float, typer.Option(help="Share of injected defective rows (0 = clean).")] = 0.02,
) -> None:
    """Generate a synthetic retailer's landing files (with a ledger of injected defects)."""
    from lakeshop.datagen import generate as gen

    result = gen(out_dir, days=days, scale=scale, seed=seed, start_date=_date("--start-date", start_date), defects=defects)
    out.print(f"generated {_describe(result)} into {out_dir}")


@app.command()
def run(
    target: Annotated[str | None, typer.Option(help="Target from lakeshop.yml (default: its default_target).")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild every table from the raw files.")] = False,
    select: Annotated[list[str] | None, typer.Option("--select", help="Only these tables (repeatable).")] = None,
) -> None:
    """Run the pipeline: ingest new files, refresh silver and gold incrementally."""
    from lakeshop import api

    summary = api.run(_project(), target=target, select=select, full_refresh=full_refresh, listener=_progress)
    _summarise(summary)
    if summary.status != "ok":
        raise typer.Exit(1)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SELECT over schema.table names, e.g. gold.agg_daily_sales.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    target: Annotated[str | None, typer.Option(help="Target to read.")] = None,
) -> None:
    """Query any table of the lakehouse with SQL (DuckDB dialect)."""
    from lakeshop import api

    if fmt not in ("table", "csv", "json"):
        raise ConfigError("--format", "one of table, csv, json", fmt)
    _print_table(api.query(_project(), query, target), fmt)


@app.command()
def status(target: Annotated[str | None, typer.Option(help="Target to read.")] = None) -> None:
    """Each table's rows, last refresh and last status."""
    from lakeshop import api

    table = api.status(_project(), target)
    rows = table.to_pylist()
    for r in rows:
        ms = r.pop("last_refresh_ms")
        r["last_refresh"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "never"
    _print_rows(rows, "table")


@app.command()
def quality(
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: the latest).")] = None,
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    target: Annotated[str | None, typer.Option(help="Target to read.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Expectation pass rates per table for a run."""
    from lakeshop import api

    _print_table(api.quality(_project(), run_id, table, target), fmt)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for landing files, lakeshop.yml and the lakehouse.")] = Path("demo"),
    scale: Annotated[float, typer.Option(help="Scale factor per day (1 ≈ 20,000 order lines a day).")] = 0.1,
    days: Annotated[int, typer.Option(help="Days of history.")] = 14,
    defects: Annotated[float, typer.Option(help="Share of injected defective rows.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
) -> None:
    """Generate a retailer, run the whole pipeline on it and show what was built."""
    from lakeshop import api
    from lakeshop.datagen import generate as gen
    from lakeshop.project import Project, write_demo_config

    clock = time.perf_counter()
    result = gen(directory / "landing", days=days, scale=scale, seed=seed, defects=defects)
    out.print(f"[bold]1/2[/] generated {_describe(result)} into {directory / 'landing'}")
    write_demo_config(directory)
    project = Project.load(directory)
    out.print(f"[bold]2/2[/] running the pipeline into {project.lakehouse().root}")
    summary = api.run(project, listener=_progress, trigger="demo")
    _summarise(summary)
    headline = api.query(
        project,
        "SELECT channel, sum(total_revenue) AS revenue, sum(total_orders) AS orders, "
        "sum(total_quantity) AS units FROM gold.agg_daily_sales GROUP BY channel ORDER BY revenue DESC",
    )
    out.print("\n[bold]Revenue by channel over the whole history[/] (base currency USD)")
    _print_table(headline, "table")
    out.print(f"\ndemo done in {time.perf_counter() - clock:.1f}s. Try:\n"
              f"  lakeshop --project {directory} status\n"
              f"  lakeshop --project {directory} sql \"SELECT * FROM gold.agg_daily_sales ORDER BY sales_date DESC LIMIT 7\"")
    if summary.status != "ok":
        raise typer.Exit(1)


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(option, "a date as YYYY-MM-DD", text) from exc


def _describe(result: Any) -> str:
    rows = sum(result.rows.values()) if hasattr(result, "rows") else 0
    files = getattr(result, "files", 0)
    nfiles = len(files) if isinstance(files, list | tuple) else files
    return f"{nfiles} files, {rows:,} rows, {getattr(result, 'defects', 0):,} injected defects in {getattr(result, 'seconds', 0):.1f}s"


def _progress(outcome: Any) -> None:
    r = outcome.result
    colour = {"ok": "green", "failed": "red", "skipped": "yellow"}[outcome.status]
    detail = f"  [red]{outcome.error}[/]" if outcome.error else (f"  ({r.note})" if r.note else "")
    out.print(
        f"  [{colour}]{outcome.status:7}[/] {outcome.name:34} in {r.rows_in:>9,}  written {r.rows_written:>9,}"
        f"  quarantined {r.rows_quarantined:>7,}  dedup {r.rows_deduplicated:>7,}  {outcome.seconds:6.2f}s{detail}",
        highlight=False,
    )


def _summarise(summary: Any) -> None:
    ok = sum(o.status == "ok" for o in summary.outcomes)
    failed = len(summary.failed)
    skipped = sum(o.status == "skipped" for o in summary.outcomes)
    written = sum(o.result.rows_written for o in summary.outcomes)
    quarantined = sum(o.result.rows_quarantined for o in summary.outcomes)
    colour = "green" if summary.status == "ok" else "red"
    out.print(
        f"[{colour}]run {summary.run_id} {summary.status}[/]: {ok} tables ok, {failed} failed, {skipped} skipped; "
        f"{written:,} rows written, {quarantined:,} quarantined or rejected, {summary.seconds:.1f}s"
    )


def _print_table(table: Any, fmt: str) -> None:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        sink = sys.stdout.buffer
        pacsv.write_csv(table, sink)
        sink.flush()
        return
    _print_rows(table.to_pylist(), fmt, table.column_names)


def _print_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str] | None = None) -> None:
    if fmt == "json":
        out.print_json(json.dumps(rows, default=str))
        return
    columns = columns or (list(rows[0]) if rows else [])
    view = RichTable(show_lines=False, header_style="bold")
    for c in columns:
        view.add_column(c, overflow="fold")
    for r in rows:
        view.add_row(*["" if r.get(c) is None else str(r.get(c)) for c in columns])
    out.print(view)
    out.print(f"{len(rows)} row(s)", style="dim")


def main() -> None:
    """Entry point: run the app, turning lakeshop errors into one line and an exit code."""
    try:
        app()
    except LakeshopError as exc:
        if State.debug:
            raise
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except ValueError as exc:
        if State.debug:
            raise
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(2)

"""The ``lakeshop`` command line: one clear line and an exit code for every error."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table as RichTable
from typer.core import TyperGroup

from lakeshop.core.errors import LakeshopError

# click's base exception (typer vendors click in recent versions, so it is found, not imported)
_ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class _Group(TyperGroup):
    """The command group; turns every error into one line on stderr and an exit code.

    Lives here rather than in ``main()`` so that ``CliRunner`` sees what a user sees.
    ``--debug`` lets lakeshop's own and unexpected errors through with their traceback.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        State.debug = False
        code: int
        try:
            rv = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except _ClickException as exc:  # a usage error: unknown option, invalid value …
            code = int(getattr(exc, "exit_code", 2))
            if type(exc).__name__ == "NoArgsIsHelpError":
                help_text = exc.format_message()  # type: ignore[attr-defined]
                if help_text:
                    out.print(help_text, markup=False, highlight=False)
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                message = exc.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
                _error(f"{message}{hint}")
        except typer.Abort:
            _error("aborted")
            code = 1
        except LakeshopError as exc:
            if State.debug:
                raise
            _error(str(exc))
            code = exc.exit_code
        except Exception as exc:
            if State.debug:
                raise
            _error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="lakeshop",
    help="A retail sales lakehouse on your laptop: landing files → bronze → silver → gold.",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class State:
    project_dir: Path = Path(".")
    debug: bool = False


class EngineChoice(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


Days = Annotated[int, typer.Option(min=1, help="Number of business days to generate.")]
Scale = Annotated[
    float, typer.Option(help="Scale factor per day, > 0 (1 ≈ 20,000 order lines a day).")
]
Defects = Annotated[
    float,
    typer.Option(min=0.0, max=0.5, help="Share of injected defective rows, 0 to 0.5 (0 = clean)."),
]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same files.")]
Wait = Annotated[
    bool, typer.Option("--wait", help="Wait for a run already writing the target to end.")
]
WaitTimeout = Annotated[
    float | None, typer.Option(min=0, help="With --wait: give up after this many seconds.")
]
Target = Annotated[
    str | None, typer.Option(help="Target from lakeshop.yml (default: its default_target).")
]
Format = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Business date YYYY-MM-DD the alert rules check (default: the latest)."
    ),
]


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


EngineOption = Annotated[
    EngineChoice | None,
    typer.Option("--engine", help="Execution engine (default: the target's, duckdb unless set)."),
]


@app.callback()
def _main(
    project: Annotated[
        Path, typer.Option("--project", "-p", help="Project folder (holds lakeshop.yml).")
    ] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="Log lines on stderr, each with its run id: text, or json (one object a line).",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            help="Lowest level logged (default: info with --log-format, else warning).",
        ),
    ] = None,
) -> None:
    from lakeshop.core import logs

    State.project_dir, State.debug = project, debug
    level = log_level or (LogLevel.info if log_format is not None else LogLevel.warning)
    logs.configure("json" if log_format is LogFormat.json else "text", level.value.upper())


def _project() -> Any:
    from lakeshop.app.project import Project

    return Project.load(State.project_dir)


@app.command()
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
) -> None:
    """Generate a synthetic retailer's landing files (with a ledger of injected defects)."""
    first = _date("--start-date", start_date)
    _check_scale(scale)
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
    )
    out.print(f"generated {_describe(result)} into {out_dir}", soft_wrap=True, highlight=False)


@app.command()
def run(
    target: Target = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild every table from the raw files.")
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only this table, e.g. silver.orders (repeatable)."),
    ] = None,
    wait: Wait = False,
    wait_timeout: WaitTimeout = None,
    as_of: AsOf = None,
    engine: EngineOption = None,
) -> None:
    """Run the pipeline: ingest new files, refresh silver and gold incrementally; then
    evaluate the alert rules and send the new alerts."""
    from lakeshop.app import api

    day = _date("--as-of", as_of) if as_of is not None else None
    project = _project()
    if not project.landing.is_dir():
        err.print(
            f"warning: no landing folder {escape(str(project.landing))}; nothing to ingest",
            soft_wrap=True,
            highlight=False,
        )
    summary = api.run(
        project,
        target=target,
        select=select,
        full_refresh=full_refresh,
        listener=_progress(project),
        wait=wait,
        wait_timeout=wait_timeout,
        as_of=day,
        engine=engine.value if engine else None,
    )
    _summarise(summary)
    if summary.status != "ok":
        raise typer.Exit(1)


@app.command()
def replay(
    start: Annotated[str, typer.Option("--from", help="First ingestion date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last ingestion date, YYYY-MM-DD.")],
    target: Target = None,
    wait: Wait = False,
    wait_timeout: WaitTimeout = None,
    engine: EngineOption = None,
) -> None:
    """Reprocess the raw copies of files ingested in a date range, then run incrementally."""
    from lakeshop.app import api

    first, last = _date("--from", start), _date("--to", end)
    project = _project()
    summary = api.replay(
        project,
        first,
        last,
        target=target,
        listener=_progress(project),
        wait=wait,
        wait_timeout=wait_timeout,
        engine=engine.value if engine else None,
    )
    _summarise(summary)
    if summary.status != "ok":
        raise typer.Exit(1)


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="A SELECT over schema.table names, e.g. gold.agg_daily_sales.")
    ],
    fmt: Format = OutputFormat.table,
    target: Target = None,
) -> None:
    """Query any table of the lakehouse with SQL (DuckDB dialect)."""
    from lakeshop.app import api

    _print_table(api.query(_project(), query, target), fmt)


@app.command()
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

    day = _date("--as-of", as_of) if as_of is not None else None
    if name is None:
        listed = [{"name": q.name, "description": q.description} for q in analytics.saved_queries()]
        _print_rows(listed, fmt, ["name", "description"])
        return
    saved = analytics.saved_query(name)
    project = _project()
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
    _print_table(result, fmt)


@app.command()
def status(target: Target = None, fmt: Format = OutputFormat.table) -> None:
    """Each table's rows, version, last refresh, last status and freshness."""
    from lakeshop.app import api
    from lakeshop.observe import history as observe

    project = _project()
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
    _print_rows(rows, fmt)


class QualitySection(StrEnum):
    expectations = "expectations"
    quarantined = "quarantined"
    trend = "trend"
    members = "members"


@app.command()
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
        _project(), run_id, table, sample_rows=sample, trend_runs=trend_runs, target=target
    )
    parts = {
        QualitySection.expectations: found.expectations,
        QualitySection.quarantined: found.quarantined,
        QualitySection.trend: found.trend.drop_columns(["is_total"]),
        QualitySection.members: found.members,
    }
    if fmt is not OutputFormat.table:
        if section is not None:
            _print_table(parts[section], fmt)
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
            _print_table(rows, fmt)


@app.command()
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
    _check_scale(scale)
    from lakeshop.app import api
    from lakeshop.app.project import Project, write_demo_config
    from lakeshop.datagen import generate as gen

    clock = time.perf_counter()
    result = gen(directory / "landing", days=days, scale=scale, seed=seed, defects=defects)
    out.print(
        f"[bold]1/2[/] generated {_describe(result)} into {escape(str(directory / 'landing'))}",
        soft_wrap=True,
    )
    write_demo_config(directory)
    project = Project.load(directory)
    out.print(
        f"[bold]2/2[/] running the pipeline into {escape(str(project.lakehouse().root))}",
        soft_wrap=True,
    )
    summary = api.run(project, listener=_progress(project), trigger="demo")
    _summarise(summary)
    if summary.status == "ok":
        _headlines(project)
    from lakeshop.observe import report as reporting

    page = directory / "report.html"
    reporting.write(project, page)
    out.print(f"\n[bold]report[/]: {escape(str(page.resolve()))}", soft_wrap=True)
    where = escape(str(directory))
    out.print(
        f"\ndemo done in {time.perf_counter() - clock:.1f}s. Try:\n"
        f"  lakeshop --project {where} status\n"
        f'  lakeshop --project {where} sql "SELECT * FROM gold.agg_daily_sales ORDER BY sales_date DESC LIMIT 7"',
        soft_wrap=True,
        highlight=False,
    )
    if summary.status != "ok":
        raise typer.Exit(1)


def _error(message: str) -> None:
    """One line on stderr: newlines and terminal escapes of the message are flattened."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", message).split())
    err.print(f"[red]error:[/] {escape(text)}", soft_wrap=True, highlight=False)


def _headlines(project: Any) -> None:
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
    _print_table(channels.select(keep), OutputFormat.table)
    top = analytics.run_saved(project, "most_sold_product_30d", as_of)
    keep = [
        c
        for c in ("rank", "product_id", "name", "category", "units", "revenue_base")
        if c in top.column_names
    ]
    out.print("\n[bold]Top products, last 30 days[/] (delivered lines)")
    _print_table(top.select(keep).slice(0, 5), OutputFormat.table)
    completion = api.query(
        project,
        "SELECT completion_status, count(*) AS orders, "
        "CAST(ROUND(100.0 * count(*) / sum(count(*)) OVER (), 1) AS DECIMAL(5, 1)) AS pct "
        "FROM gold.fact_orders GROUP BY completion_status ORDER BY orders DESC",
    )
    out.print("\n[bold]Order completion[/] (all orders)")
    _print_table(completion, OutputFormat.table)


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected a date as YYYY-MM-DD, found {text!r} ({exc})", param_hint=f"'{option}'"
        ) from exc


def _check_scale(scale: float) -> None:
    if not scale > 0:
        raise typer.BadParameter(f"expected a number > 0, found {scale}", param_hint="'--scale'")


def _describe(result: Any) -> str:
    rows = sum(result.rows.values()) if hasattr(result, "rows") else 0
    files = getattr(result, "files", 0)
    nfiles = len(files) if isinstance(files, list | tuple) else files
    return f"{nfiles} files, {rows:,} rows, {getattr(result, 'defects', 0):,} injected defects in {getattr(result, 'seconds', 0):.1f}s"


_COLOURS = {"ok": "green", "failed": "red", "skipped": "yellow"}


def _progress(project: Any) -> Any:
    """A listener printing one compact line per table, names aligned on the longest."""
    width = max((len(n) for n in project.graph.tables), default=0)

    def show(outcome: Any) -> None:
        out.print(progress_line(outcome, width), soft_wrap=True, highlight=False)

    return show


def progress_line(outcome: Any, width: int = 0) -> str:
    """``ok      silver.orders  in 1,785 → 1,517 written, 18 quarantined, 250 dedup  0.12s``.

    Zero quarantined or deduplicated counts are left out; a failure or skip ends with its reason.
    """
    r = outcome.result
    status = f"[{_COLOURS.get(outcome.status, 'default')}]{outcome.status:7}[/]"
    parts = [f"in {r.rows_in:,} → {r.rows_written:,} written"]
    if r.rows_quarantined:
        parts.append(f"{r.rows_quarantined:,} quarantined")
    if r.rows_deduplicated:
        parts.append(f"{r.rows_deduplicated:,} dedup")
    if outcome.status == "skipped":
        detail = f"[yellow]{escape(outcome.error or '')}[/]"
    elif outcome.error:
        detail = f"{outcome.seconds:.2f}s  [red]{escape(_flat(outcome.error))}[/]"
    else:
        note = f"  ({escape(r.note)})" if r.note else ""
        detail = f"{', '.join(parts)}  {outcome.seconds:.2f}s{note}"
    return f"{status} {outcome.name:{width}}  {detail}"


def _flat(text: str) -> str:
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def _summarise(summary: Any) -> None:
    ok = sum(o.status == "ok" for o in summary.outcomes)
    failed = len(summary.failed)
    skipped = sum(o.status == "skipped" for o in summary.outcomes)
    written = sum(o.result.rows_written for o in summary.outcomes)
    quarantined = sum(o.result.rows_quarantined for o in summary.outcomes)
    colour = "green" if summary.status == "ok" else "red"
    out.print(
        f"[{colour}]run {summary.run_id} {summary.status}[/]: {ok} tables ok, {failed} failed, {skipped} skipped; "
        f"{written:,} rows written, {quarantined:,} quarantined or rejected, {summary.seconds:.1f}s",
        soft_wrap=True,
        highlight=False,
    )
    if summary.checks is not None:
        _print_alerts(summary.checks)


def _print_alerts(outcome: Any) -> None:
    """The alerts an evaluation fired, with their deliveries; rules it could not evaluate."""
    from lakeshop.app.alerts import describe

    for line in describe(outcome):
        colour = "red" if line.startswith(("critical", "not evaluated")) else "yellow"
        out.print(f"[{colour}]{escape(line)}[/]", soft_wrap=True, highlight=False)


def _print_table(table: Any, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.csv:
        import pyarrow.csv as pacsv

        sys.stdout.flush()
        sink = sys.stdout.buffer
        pacsv.write_csv(table, sink)
        sink.flush()
        return
    _print_rows(table.to_pylist(), fmt, table.column_names)


def _print_rows(
    rows: list[dict[str, Any]], fmt: OutputFormat, columns: list[str] | None = None
) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    if fmt is OutputFormat.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    view = RichTable(show_lines=False, header_style="bold")
    for c in columns:
        view.add_column(escape(c), overflow="fold")
    for r in rows:
        view.add_row(*["" if r.get(c) is None else escape(str(r.get(c))) for c in columns])
    # folded to the terminal's width; written whole into a pipe or a file
    if out.is_terminal:
        out.print(view)
    else:
        wide = Measurement.get(out, out.options.update_width(10_000), view).maximum
        Console(width=max(out.width, wide)).print(view)
    out.print(f"{len(rows)} row(s)", style="dim")


@app.command()
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

    project = _project()
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


@app.command()
def doctor(target: Target = None) -> None:
    """Check the lakehouse's invariants; exit 1 naming each one broken."""
    from lakeshop.ops.doctor import diagnose

    result = diagnose(_project(), target)
    for check in result.checks:
        if check.ok:
            out.print(f"[green]ok[/]     {check.name} ({check.checked} checked)", highlight=False)
    for problem in result.problems:
        out.print(f"[red]FAILED[/] {escape(_flat(problem))}", soft_wrap=True, highlight=False)
    broken = [c.name for c in result.checks if not c.ok]
    if broken:
        out.print(
            f"[red]doctor: {len(result.problems)} problem(s) in {len(broken)} of "
            f"{len(result.checks)} checks ({', '.join(broken)})[/]",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(1)
    out.print(f"[green]doctor: all {len(result.checks)} checks passed[/]", highlight=False)


@app.command()
def maintain(
    retention_hours: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Keep unreferenced files this many hours (time travel window; "
            "default: the target's retention_hours, 168).",
        ),
    ] = None,
    target: Target = None,
) -> None:
    """Compact small files, checkpoint and vacuum every Delta table (takes the writer lock)."""
    from lakeshop.ops.maintain import maintain as run_maintenance

    done = run_maintenance(_project(), target, retention_hours)
    rows = [
        {
            "table": t.name,
            "files_before": t.files_before,
            "files_after": t.files_after,
            "files_vacuumed": t.files_removed,
            "bytes_removed": t.bytes_removed,
            "version": t.version_after,
        }
        for t in done
    ]
    _print_rows(rows, OutputFormat.table)
    before = sum(t.files_before for t in done)
    after = sum(t.files_after for t in done)
    freed = sum(t.bytes_removed for t in done)
    out.print(
        f"maintained {len(done)} tables: {before:,} → {after:,} files, {freed:,} bytes removed",
        highlight=False,
    )


class LineageFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
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

    project = _project()
    found = lin.Lineage(project.graph, project.sources)
    table, column = lin.parse_target(name)
    if column is None:
        result = found.tables(table)
        lines = lin.render_tables(result)
        data: Any = result
    else:
        node = found.column(table, column)
        lines = lin.render_column(node)
        data = node.to_dict() | {"sources": [leaf.ref for leaf in node.leaves()]}
    if fmt is LineageFormat.json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for line in lines:
            out.print(line, soft_wrap=True, highlight=False, markup=False)


@app.command()
def history(
    days: Annotated[
        int | None, typer.Option(min=1, help="Only runs within N days of the newest run.")
    ] = None,
    target: Target = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Past runs, newest first: status, duration, tables and rows written."""
    from lakeshop.observe import history as observe

    result = observe.history(_project(), days, target)
    if fmt is OutputFormat.table and result.num_rows == 0:
        out.print("no runs recorded yet: run `lakeshop run` first", highlight=False)
        return
    _print_table(result, fmt)


@app.command()
def alerts(
    days: Annotated[
        int | None, typer.Option(min=1, help="Only alerts within N days of the newest one.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Evaluate the rules now (no run); record and send new ones."),
    ] = False,
    as_of: AsOf = None,
    target: Target = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Fired alerts from _system.alerts, newest first; --check evaluates the rules first."""
    from lakeshop.app import alerts as rules
    from lakeshop.app import api

    project = _project()
    if check:
        day = _date("--as-of", as_of) if as_of is not None else None
        outcome = api.check_alerts(project, target=target, as_of=day)
        if fmt is OutputFormat.table:
            out.print(
                f"alerts as of {outcome.as_of}: {len(outcome.fired)} new, "
                f"{len(outcome.repeated)} already recorded",
                highlight=False,
            )
            _print_alerts(outcome)
    rows = rules.listing(project, days, target)
    if fmt is OutputFormat.table and not rows:
        out.print("no alerts recorded", highlight=False)
        return
    columns = list(rules.LIST_COLUMNS)
    _print_rows([{c: r[c] for c in columns} for r in rows], fmt, columns)


def main() -> None:
    """Entry point of the ``lakeshop`` console script."""
    app()


if __name__ == "__main__":
    main()

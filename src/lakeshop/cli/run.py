"""``lakeshop run`` and ``lakeshop replay``: the pipeline, one progress line per table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import (
    AsOf,
    EngineOption,
    Target,
    Wait,
    WaitTimeout,
    load_project,
    parse_date,
)
from lakeshop.cli.output import err, progress, summarise
from lakeshop.pipeline import interrupt

if TYPE_CHECKING:
    from lakeshop.app.api import RunResult
    from lakeshop.app.project import Project
    from lakeshop.pipeline.runner import RunSummary

#: exit codes of a run that went through (2 is a configuration error, as for every command)
TABLE_FAILED = 1
FILE_REFUSED = 3


def install_steps(project: Project) -> None:
    """Register the steps that run after each run of this process, as the project asks
    (``ml.refresh``: the models' gold tables; app cannot import ml, so the CLI does)."""
    if project.config.ml.refresh.enabled:
        from lakeshop.ml.refresh import install

        install()


def exit_code(summary: RunSummary) -> int:
    """0 when every table succeeded and no file was refused; 1 when a table failed (the run
    did not end ok); else 3 when a file was refused; 130 when a signal stopped it."""
    from lakeshop.pipeline import interrupt

    if summary.status == "interrupted":
        return interrupt.EXIT_STATUS
    if summary.status != "ok":
        return TABLE_FAILED
    return FILE_REFUSED if summary.refused else 0


def run(
    target: Target = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild every table from the raw files.")
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only this table, e.g. silver.orders (repeatable)."),
    ] = None,
    rebuild_changed: Annotated[
        bool,
        typer.Option(
            "--rebuild-changed",
            help="Rebuild the tables of sources whose configuration changed, from the raw files.",
        ),
    ] = False,
    wait: Wait = False,
    wait_timeout: WaitTimeout = None,
    as_of: AsOf = None,
    engine: EngineOption = None,
    through: Annotated[
        str | None,
        typer.Option(
            "--through",
            help="Business day YYYY-MM-DD: landing files named with a later date wait for a "
            "later run.",
        ),
    ] = None,
    trigger: Annotated[
        str, typer.Option("--trigger", hidden=True, help="Recorded in _system.runs.")
    ] = "manual",
    continuous: Annotated[
        bool,
        typer.Option(
            "--continuous",
            help="Watch the landing folder and run a micro-batch each time files land, one at "
            "a time, until SIGTERM or Ctrl-C (which stop it after the current commit).",
        ),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            min=0.05,
            help="With --continuous: seconds between two looks at the landing folder "
            "(default: the target's continuous schedule's, else 2).",
        ),
    ] = None,
) -> None:
    """Run the pipeline: ingest new files, refresh silver and gold incrementally; then
    evaluate the alert rules and send the new alerts.

    Exit code: 0 ok, 1 a table failed, 2 a configuration error, 3 a file was refused."""
    from lakeshop.app import api

    if continuous:
        others = {
            "--full-refresh": full_refresh,
            "--select": bool(select),
            "--rebuild-changed": rebuild_changed,
            "--as-of": as_of is not None,
            "--engine": engine is not None,
            "--through": through is not None,
        }
        given = [name for name, used in others.items() if used]
        if given:
            raise typer.BadParameter(
                f"not with {', '.join(given)}: micro-batches are whole incremental runs",
                param_hint="'--continuous'",
            )
        return run_continuously(target, interval)
    if interval is not None:
        raise typer.BadParameter("only with --continuous", param_hint="'--interval'")
    day = parse_date("--as-of", as_of) if as_of is not None else None
    last_day = parse_date("--through", through) if through is not None else None
    project = load_project()
    install_steps(project)
    if not project.landing.is_dir():
        err.print(
            f"warning: no landing folder {escape(str(project.landing))}; nothing to ingest",
            soft_wrap=True,
            highlight=False,
        )
    with interrupt.handling():
        result = api.run(
            project,
            target=target,
            select=select,
            full_refresh=full_refresh,
            listener=progress(project),
            wait=wait,
            wait_timeout=wait_timeout,
            as_of=day,
            engine=engine,
            rebuild_changed=rebuild_changed,
            through=last_day,
            trigger=trigger,
        )
    finish(result)


def run_continuously(target: str | None, interval: float | None = None) -> None:
    """``run --continuous`` (and a continuous schedule): one line per micro-batch; ends with
    status 0 when stopped by a signal, 1 when its last micro-batch failed."""
    from lakeshop.ops.continuous import Batch, Continuous, default_settings

    project = load_project()
    install_steps(project)
    settings = default_settings(project, target)
    if interval is not None:
        settings = settings.model_copy(update={"interval_seconds": interval})

    def show(batch: Batch) -> None:
        colour = {"ok": "green", "interrupted": "yellow"}.get(batch.status, "red")
        summary = batch.result.summary if batch.result is not None else None
        ok = sum(o.status == "ok" for o in summary.outcomes) if summary is not None else 0
        tables = f", {ok} table(s) ok" if summary is not None else ""
        detail = f": {batch.errors[-1]}" if batch.status == "failed" and batch.errors else ""
        err.print(
            f"[{colour}]{batch.status}[/] micro-batch {escape(batch.run_id or '-')}: "
            f"{batch.files} file(s) {'in landing' if batch.first else 'new or changed'}"
            f"{tables}, {batch.seconds:.1f}s"
            f"{escape(detail)}",
            soft_wrap=True,
            highlight=False,
        )

    loop = Continuous(project, target, settings=settings, on_batch=show)
    err.print(
        f"continuous mode on target {loop.target}: looking at "
        f"{escape(str(project.landing))} every {settings.interval_seconds:g}s; "
        "SIGTERM or Ctrl-C stops it after the current commit",
        soft_wrap=True,
        highlight=False,
    )
    with interrupt.handling():
        batches = loop.serve()
    err.print(f"stopped after {len(batches)} micro-batch(es)", highlight=False)
    if batches and batches[-1].status == "failed":
        raise typer.Exit(TABLE_FAILED)


def finish(result: RunResult) -> None:
    """The run's summary, the interruption's line when a signal stopped it, its exit code."""
    summarise(result)
    if result.summary.status == "interrupted":
        err.print(interrupt.MESSAGE, soft_wrap=True, highlight=False)
    if exit_code(result.summary):
        raise typer.Exit(exit_code(result.summary))


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

    first, last = parse_date("--from", start), parse_date("--to", end)
    project = load_project()
    install_steps(project)
    with interrupt.handling():
        result = api.replay(
            project,
            first,
            last,
            target=target,
            listener=progress(project),
            wait=wait,
            wait_timeout=wait_timeout,
            engine=engine,
        )
    finish(result)

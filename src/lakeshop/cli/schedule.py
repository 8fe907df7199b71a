"""``lakeshop schedule`` (run a target at its cron fires) and ``lakeshop backfill`` (one run
per business day of a range)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Target, Wait, WaitTimeout, load_project, parse_date
from lakeshop.cli.output import out
from lakeshop.cli.run import install_steps


def schedule(
    target: Target = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Handle the fires due now (and the missed ones), then exit (for cron)."
        ),
    ] = False,
) -> None:
    """Run the target at the fires of its schedule: (cron, time zone, retries, catch-up); a
    schedule with trigger: continuous runs as lakeshop run --continuous."""
    from lakeshop.cli.run import run_continuously
    from lakeshop.ops.schedule import Fire, Scheduler, schedule_of

    project = load_project()
    if schedule_of(project, target)[1].trigger == "continuous":
        if once:
            raise typer.BadParameter("not with a continuous schedule", param_hint="'--once'")
        return run_continuously(target)

    def show(fire: Fire) -> None:
        colour = {"ok": "green", "skipped": "yellow"}.get(fire.status, "red")
        detail = f": {fire.errors[-1]}" if fire.errors else ""
        out.print(
            f"[{colour}]{fire.status}[/] {escape(fire.trigger)} "
            f"({fire.attempts} attempt(s)){escape(detail)}",
            soft_wrap=True,
            highlight=False,
        )

    scheduler = Scheduler(project, target, on_fire=show)
    out.print(
        f"schedule of target {scheduler.target}: {scheduler.config.cron} "
        f"({scheduler.config.timezone})",
        highlight=False,
    )
    fires = scheduler.step() if once else scheduler.serve()
    if any(f.status == "failed" for f in fires):
        raise typer.Exit(1)


def backfill(
    start: Annotated[str, typer.Option("--from", help="First business day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last business day, YYYY-MM-DD.")],
    target: Target = None,
    wait: Wait = False,
    wait_timeout: WaitTimeout = None,
) -> None:
    """Run each business day of a range in order, with the deliveries up to that day
    (resumable: days already backfilled ok are not run again)."""
    from lakeshop.ops.backfill import Day
    from lakeshop.ops.backfill import backfill as run_days

    first, last = parse_date("--from", start), parse_date("--to", end)

    def show(day: Day) -> None:
        colour = {"ok": "green", "done before": "dim"}.get(day.status, "red")
        out.print(f"[{colour}]{day.status}[/] {day.day} run {day.run_id}", highlight=False)

    project = load_project()
    install_steps(project)
    days = run_days(project, first, last, target, wait=wait, wait_timeout=wait_timeout, on_day=show)
    codes = {d.exit_code for d in days}
    code = 1 if 1 in codes else max(codes, default=0)
    if code:
        raise typer.Exit(code)

"""``lakeshop doctor`` (the lakehouse's invariants) and ``lakeshop maintain`` (compact,
checkpoint, vacuum)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Target, load_project
from lakeshop.cli.output import OutputFormat, flat, out, print_rows


def doctor(
    target: Target = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="First remove what failed commits left (empty or partial logs)."
        ),
    ] = False,
) -> None:
    """Check the lakehouse's invariants; exit 1 naming each one broken."""
    from lakeshop.ops import doctor as checks

    project = load_project()
    if repair:
        for folder in checks.repair(project, target):
            out.print(
                f"repaired: {escape(str(folder))} (recreated by the next run)", highlight=False
            )
    result = checks.diagnose(project, target)
    for check in result.checks:
        if check.ok:
            out.print(f"[green]ok[/]     {check.name} ({check.checked} checked)", highlight=False)
    for problem in result.problems:
        out.print(f"[red]FAILED[/] {escape(flat(problem))}", soft_wrap=True, highlight=False)
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

    done = run_maintenance(load_project(), target, retention_hours)
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
    print_rows(rows, OutputFormat.table)
    before = sum(t.files_before for t in done)
    after = sum(t.files_after for t in done)
    freed = sum(t.bytes_removed for t in done)
    out.print(
        f"maintained {len(done)} tables: {before:,} → {after:,} files, {freed:,} bytes removed",
        highlight=False,
    )


def unlock(
    target: Target = None,
    force: Annotated[
        bool, typer.Option("--force", help="Remove the lock (refused while its holder lives).")
    ] = False,
) -> None:
    """Remove a writer lock left by a writer that is gone (another host, a skewed clock)."""
    from lakeshop.pipeline.lock import force_unlock, holder

    project = load_project()
    lakehouse = project.lakehouse(target)
    if not force:
        held = holder(lakehouse)
        who = held.describe() if held else "nobody"
        out.print(f"held by {escape(who)}; `lakeshop unlock --force` removes it", highlight=False)
        return
    gone = force_unlock(lakehouse)
    out.print(
        f"removed the lock of {escape(gone.describe())}" if gone else "no lock to remove",
        soft_wrap=True,
        highlight=False,
    )

"""``lakeshop doctor`` (the lakehouse's invariants) and ``lakeshop maintain`` (compact,
checkpoint, vacuum)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Target, WaitTimeout, load_project
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


def backup(
    to: Annotated[Path, typer.Option("--to", help="Backup folder (created; reused: incremental).")],
    target: Target = None,
    wait_timeout: WaitTimeout = None,
) -> None:
    """Copy every table, _system and the raw copies as of one committed state (incremental)."""
    from lakeshop.ops.backup import backup as take

    m = take(load_project(), to, target, wait_timeout=wait_timeout)
    out.print(
        f"backup {m.backup_id}: {len(m.tables)} tables, {len(m.files):,} files "
        f"({m.files_copied:,} copied, {m.bytes_copied:,} bytes) in {m.seconds:.1f}s → {to}",
        soft_wrap=True,
        highlight=False,
    )
    for note in m.notes:
        out.print(f"note: {escape(note)}", soft_wrap=True, highlight=False, style="yellow")


def restore(
    source: Annotated[Path, typer.Option("--from", help="Backup folder (of lakeshop backup).")],
    backup_id: Annotated[
        str | None, typer.Option("--backup", help="Backup id (default: the newest).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Move the target's tables aside and restore.")
    ] = False,
    target: Target = None,
) -> None:
    """Rebuild a target from a backup (refused when the target holds tables, unless --force)."""
    from lakeshop.ops.backup import restore as rebuild

    m, moved = rebuild(load_project(), source, target, backup_id=backup_id, force=force)
    if moved is not None:
        out.print(f"moved the target's earlier tables to {moved}", soft_wrap=True, highlight=False)
    last = f"; last run {m.last_run['run_id']} ({m.last_run['status']})" if m.last_run else ""
    out.print(
        f"restored backup {m.backup_id} of {m.created_at}: {len(m.tables)} tables, "
        f"{len(m.files):,} files{last}",
        soft_wrap=True,
        highlight=False,
    )


def migrate(target: Target = None) -> None:
    """Upgrade a lakehouse written by an older lakeshop to this one's format."""
    from lakeshop.ops.migrate import FORMAT_VERSION
    from lakeshop.ops.migrate import migrate as upgrade

    found, steps = upgrade(load_project(), target)
    if found is None:
        out.print(f"no table yet: the first run creates format {FORMAT_VERSION}", highlight=False)
        return
    if not steps:
        out.print(f"lakehouse at format {found}: nothing to migrate", highlight=False)
        return
    for step in steps:
        out.print(
            f"format {step.from_version} → {step.to_version}: {escape(step.note)}",
            soft_wrap=True,
            highlight=False,
        )
    out.print(f"lakehouse migrated to format {FORMAT_VERSION}", highlight=False)


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

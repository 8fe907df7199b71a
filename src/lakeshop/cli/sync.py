"""``lakeshop sync postgres``: ship gold (and what ``sync:`` adds) to PostgreSQL for BI tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Format, Target, load_project
from lakeshop.cli.output import OutputFormat, flat, out, print_rows

if TYPE_CHECKING:
    from lakeshop.app.sync.ship import TableSync

app = typer.Typer(
    name="sync",
    help="Ship lakehouse tables to another database (PostgreSQL, for BI tools).",
    no_args_is_help=True,
)

_COLOURS = {"ok": "green", "failed": "red", "skipped": "yellow"}


def _line(t: TableSync, width: int) -> str:
    status = f"[{_COLOURS.get(t.status, 'default')}]{t.status:6}[/]"
    versions = (
        f"v{t.from_version}→v{t.to_version}" if t.from_version is not None else f"v{t.to_version}"
    )
    if t.status == "failed":
        detail = f"[red]{escape(flat(t.error or ''))}[/]"
    elif t.mode == "skipped":
        detail = escape(t.note)
    elif t.mode == "unchanged":
        detail = f"unchanged at v{t.to_version}"
    elif t.mode == "verify":
        detail = f"verified v{t.to_version}"
    else:
        detail = f"{t.mode} {versions}: {t.rows_sent:,} rows sent"
        if t.rows_deleted:
            detail += f", {t.rows_deleted:,} replaced"
    note = f"  ({escape(t.note)})" if t.note and t.status == "ok" else ""
    if t.mode == "skipped":
        return f"{status} {t.table:{width}} → {t.dest}  {detail}"
    return f"{status} {t.table:{width}} → {t.dest}  {detail}  {t.seconds:.2f}s{note}"


@app.command()
def postgres(
    select: Annotated[
        list[str] | None,
        typer.Option(help="Only these tables or schemas (schema.table or schema; repeatable)."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Replace every table whole instead of its changes.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Only compare each shipped table with the Delta version it was shipped from.",
        ),
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Ship what this role of access.yml reads: its masks and row filters applied, "
            "only the tables it is granted (default: sync.postgres.role).",
        ),
    ] = None,
    target: Target = None,
) -> None:
    """Ship tables to the PostgreSQL database of $LAKESHOP_POSTGRES_DSN (or the variable
    sync.postgres.dsn_env names): only what changed since the last sync, one transaction per
    table, each verified; gold by default."""
    from lakeshop.app.sync.ship import sync_postgres

    project = load_project()
    width = max((len(n) for n in project.graph.tables), default=0)

    def show(t: TableSync) -> None:
        out.print(_line(t, width), soft_wrap=True, highlight=False)

    result = sync_postgres(
        project,
        target=target,
        select=select,
        full=full,
        verify=verify,
        role=role,
        listener=show,
    )
    if result.views_schema:
        out.print(
            f"views in schema {result.views_schema}: {', '.join(result.views) or 'none'}; "
            f"{result.foreign_keys} foreign keys",
            soft_wrap=True,
            highlight=False,
        )
    sent = sum(t.rows_sent for t in result.tables)
    seconds = sum(t.seconds for t in result.tables)
    failed = result.failed
    verb = "verified" if verify else "synced"
    if failed:
        out.print(
            f"[red]sync: {len(failed)} of {len(result.tables)} tables failed "
            f"({', '.join(t.table for t in failed)})[/]",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(1)
    skipped = [t for t in result.tables if t.status == "skipped"]
    done = len(result.tables) - len(skipped)
    out.print(
        f"[green]sync: {done} tables {verb}, {sent:,} rows sent in {seconds:.2f}s[/]"
        + (f"; {len(skipped)} not shipped (not granted to the role)" if skipped else ""),
        highlight=False,
    )


@app.command()
def status(target: Target = None, fmt: Format = OutputFormat.table) -> None:
    """Per table: the Delta version PostgreSQL holds and the latest, rows, when it was
    shipped and how long it took (from the database's lakeshop_sync.state)."""
    from lakeshop.app.sync.status import COLUMNS, sync_status

    rows = sync_status(load_project(), target)
    if fmt is OutputFormat.table and not rows:
        out.print("no table to ship: see sync.postgres in lakeshop.yml", highlight=False)
        return
    print_rows(rows, fmt, COLUMNS)

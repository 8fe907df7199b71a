"""``lakeshop env diff`` (two targets compared table by table before a promotion) and
``lakeshop env clone`` (a development target started from another's tables)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lakeshop.cli.options import Format, load_project
from lakeshop.cli.output import OutputFormat, out, print_rows

app = typer.Typer(
    help="Environments (targets): compare two, start one from another.", no_args_is_help=True
)


@app.command("diff")
def diff(
    left: Annotated[str, typer.Option("--from", help="The target compared from (e.g. prod).")],
    right: Annotated[str, typer.Option("--to", help="The target compared to (e.g. dev).")],
    tables: Annotated[
        list[str] | None, typer.Argument(help="Tables (default: every data table).")
    ] = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Schema, row counts, rows only on one side and changed values by key, per table;
    exit 1 when the targets differ."""
    from lakeshop.app.envdiff import diff as compare

    project = load_project()
    project.target(left), project.target(right)  # unknown names: one line, exit 2
    found = compare(project, left, right, tables)
    rows = [
        {
            "table": d.table,
            "rows_from": d.left_rows,
            "rows_to": d.right_rows,
            "only_from": d.only_left,
            "only_to": d.only_right,
            "changed": ", ".join(f"{c}: {n}" for c, n in d.changed.items() if n),
            "schema": "; ".join(d.schema),
            "matched_by": d.matched_by,
            "note": "; ".join(
                n for n in (d.note, f"not compared: {', '.join(d.skipped)}" * bool(d.skipped)) if n
            ),
        }
        for d in found
        if fmt is not OutputFormat.table or not d.identical
    ]
    print_rows(rows, fmt, list(rows[0]) if rows else ["table"])
    differing = [d for d in found if not d.identical]
    if fmt is OutputFormat.table:
        summary = (
            f"{len(differing)} of {len(found)} tables differ between {left} and {right}"
            if differing
            else f"{left} and {right} hold the same rows in all {len(found)} tables"
        )
        out.print(escape(summary), highlight=False)
    if differing:
        raise typer.Exit(1)


@app.command("clone")
def clone(
    source: Annotated[str, typer.Option("--from", help="The target started from (e.g. prod).")],
    destination: Annotated[
        str | None, typer.Option("--to", help="The target started (default: the default one).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the tables the target already holds.")
    ] = False,
) -> None:
    """Start a development target from another target's committed state: its tables and raw
    copies hard-linked at one moment's versions, no data copied; nothing of the source is
    written."""
    from lakeshop.ops.clone import clone as start

    c = start(load_project(), source, destination, force=force)
    copied = f", {c.files_copied:,} copied (another filesystem)" if c.files_copied else ""
    replaced = f"; its {c.replaced} tables before were removed" if c.replaced else ""
    out.print(
        escape(
            f"{c.destination} started from {c.source}: {len(c.tables)} tables at {c.source}'s "
            f"versions, {c.files_linked:,} files linked{copied} ({c.bytes / 1e6:,.1f} MB) in "
            f"{c.seconds:.1f} s{replaced}"
        ),
        highlight=False,
    )

"""``lakeshop alerts``: the fired alerts, and ``--check`` to evaluate the rules without a run."""

from __future__ import annotations

from typing import Annotated

import typer

from lakeshop.cli.options import AsOf, Format, Target, load_project, parse_date
from lakeshop.cli.output import OutputFormat, out, print_alerts, print_rows


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

    project = load_project()
    if check:
        day = parse_date("--as-of", as_of) if as_of is not None else None
        outcome = api.check_alerts(project, target=target, as_of=day)
        if fmt is OutputFormat.table:
            out.print(
                f"alerts as of {outcome.as_of}: {len(outcome.fired)} new, "
                f"{len(outcome.repeated)} already recorded",
                highlight=False,
            )
            print_alerts(outcome)
    rows = rules.listing(project, days, target)
    if fmt is OutputFormat.table and not rows:
        out.print("no alerts recorded", highlight=False)
        return
    columns = list(rules.LIST_COLUMNS)
    print_rows([{c: r[c] for c in columns} for r in rows], fmt, columns)

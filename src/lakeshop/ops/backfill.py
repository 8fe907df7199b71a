"""``lakeshop backfill --from D --to D``: one run per business day, in order, resumable.

Day ``D``'s run ingests the landing files named with ``D`` or an earlier date (and those
named with none), not later ones (:func:`lakeshop.pipeline.ingest.discovery.delivered_after`),
then refreshes every table, as the nightly run of ``D`` would have. Each day is recorded in
``_system.runs`` with the trigger ``backfill D``; a day whose run ended ``ok`` is not run
again, so a backfill that was stopped or killed is resumed by running the same command (the
killed day's run is closed as aborted and resumed by the day's next run). A day that fails
stops the backfill: a later day never runs before an earlier one is done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.core.errors import LakeshopError
from lakeshop.pipeline import system
from lakeshop.pipeline.runner import Listener

PREFIX = "backfill "
_TRIGGER = re.compile(r"^backfill (\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Day:
    """One day of a backfill: ``ok``, ``failed`` or ``done before`` (an earlier backfill's)."""

    day: date
    status: str
    run_id: str
    #: 0 ok, 1 a table failed, 3 a file was refused (as ``lakeshop run``)
    exit_code: int = 0


def trigger(day: date) -> str:
    """The trigger a backfill's run of ``day`` is recorded with."""
    return f"{PREFIX}{day.isoformat()}"


def done_days(project: Project, target: str | None = None) -> dict[date, str]:
    """The days a backfill already ran ``ok``, with the run's id."""
    runs = system.read(project.lakehouse(target), system.RUNS).to_pylist()
    out: dict[date, str] = {}
    for r in runs:
        found = _TRIGGER.match(r["trigger"] or "")
        if found and r["status"] == "ok":
            out[date.fromisoformat(found.group(1))] = str(r["run_id"])
    return out


def backfill(
    project: Project,
    start: date,
    end: date,
    target: str | None = None,
    *,
    wait: bool = False,
    wait_timeout: float | None = None,
    listener: Listener | None = None,
    on_day: Callable[[Day], None] | None = None,
) -> list[Day]:
    """Run each day from ``start`` to ``end`` in order (see the module); returns the days
    handled, the last of them failed when one did."""
    if end < start:
        raise LakeshopError(f"backfill: --to {end} is before --from {start}")
    done = done_days(project, target)
    out: list[Day] = []
    day = start
    while day <= end:
        if day in done:
            handled = Day(day, "done before", done[day])
        else:
            result = api.run(
                project,
                target=target,
                trigger=trigger(day),
                through=day,
                wait=wait,
                wait_timeout=wait_timeout,
                listener=listener,
            )
            summary = result.summary
            code = 1 if summary.status != "ok" else (3 if summary.refused else 0)
            handled = Day(day, summary.status, summary.run_id, code)
        out.append(handled)
        if on_day is not None:
            on_day(handled)
        if handled.status == "failed":
            break
        day += timedelta(days=1)
    return out

"""What the user's doors (CLI, tests, notebooks) call: run, query, status, quality."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeshop.app import environments, hooks
from lakeshop.app.alerts import Outcome
from lakeshop.app.models.unittests import CaseResult
from lakeshop.app.project import EngineName, Project
from lakeshop.app.reader import query as query
from lakeshop.app.reader import reading as reading
from lakeshop.app.sandbox import nearby_tables
from lakeshop.core.errors import LakeshopError, TableNotFound
from lakeshop.core.logs import run_context
from lakeshop.pipeline import lakeformat, system
from lakeshop.pipeline.lock import WriterLock, writer_lock
from lakeshop.pipeline.runner import Listener, RunSummary
from lakeshop.pipeline.runner import run as run_graph

if TYPE_CHECKING:
    from lakeshop.app.sync.after_run import AfterRun


@dataclass(frozen=True)
class RunResult:
    """A run of the pipeline and the alerts evaluated after it, side by side."""

    summary: RunSummary
    alerts: Outcome
    #: the sync to PostgreSQL after the run (``sync.after_run``), None when not configured
    sync: AfterRun | None = None
    #: the steps registered to run after it (:mod:`lakeshop.app.hooks`: the models' refresh)
    steps: list[hooks.StepResult] = field(default_factory=list)


def run(
    project: Project,
    *,
    target: str | None = None,
    select: Iterable[str] | None = None,
    full_refresh: bool = False,
    replay: tuple[date, date] | None = None,
    trigger: str = "manual",
    listener: Listener | None = None,
    wait: bool = False,
    wait_timeout: float | None = None,
    as_of: date | None = None,
    engine: EngineName | None = None,
    rebuild_changed: bool = False,
    through: date | None = None,
) -> RunResult:
    """Run the project's pipeline on a target (incremental unless ``full_refresh``; with
    ``rebuild_changed``, the tables of sources whose configuration changed are rebuilt), then
    evaluate the alert rules as of ``as_of`` (default: the latest business date) and send
    the new alerts: the run's summary and the alerts' outcome, side by side. The pipeline
    runs on the target's engine, or on ``engine`` when given.

    Holds the target's writer lock for the run: refused at once while another writer runs,
    unless ``wait`` (for at most ``wait_timeout`` seconds). With ``through`` (a business
    day), landing files named with a later date are left for a later run (a backfill).
    """
    from lakeshop.app import alerts

    name, settings = project.target(target)
    environments.check_run(project.directory, name, settings, target is not None, select)
    with writer_lock_of(project, target, wait=wait, timeout=wait_timeout):
        lakeformat.check_writable(project.lakehouse(target), name)
        with project.engine(target, engine) as opened:
            summary = run_graph(
                project.graph,
                opened,
                landing=project.landing,
                sources=project.sources,
                target=name,
                select=select,
                full_refresh=full_refresh,
                replay=replay,
                trigger=trigger,
                listener=listener,
                rebuild_changed=rebuild_changed,
                through=through,
            )
        # a rule or a channel in trouble is reported in the outcome, never fails the run
        with run_context(summary.run_id):
            outcome = alerts.after_run(project, summary.run_id, target, as_of)
            synced = None
            if project.config.sync.after_run:
                # the sync's modules (numpy, pandas through pyarrow's scalars) cost a run
                # without a sync 0.4 s: the no-op run's fifth
                from lakeshop.app.sync.after_run import sync_after_run

                synced = sync_after_run(project, summary.run_id, summary.batch_id, target)
            steps = hooks.after_run(project, summary, target)
        return RunResult(summary, outcome, synced, steps)


def check_alerts(
    project: Project,
    *,
    target: str | None = None,
    as_of: date | None = None,
    wait: bool = False,
    wait_timeout: float | None = None,
) -> Outcome:
    """Evaluate the alert rules without a run; record and send the new alerts (under the
    writer lock, as they are written to ``_system.alerts``)."""
    from lakeshop.app import alerts

    with writer_lock_of(project, target, purpose="alerts", wait=wait, timeout=wait_timeout):
        evaluation = alerts.evaluate(project, as_of, target)
        return alerts.record(project, evaluation, None, target)


def replay(
    project: Project,
    start: date,
    end: date,
    *,
    target: str | None = None,
    listener: Listener | None = None,
    wait: bool = False,
    wait_timeout: float | None = None,
    engine: EngineName | None = None,
) -> RunResult:
    """Read the raw copies of the files ingested from ``start`` to ``end`` into bronze again
    (their rows replaced, with this run's batch id), then run the pipeline incrementally.

    Every delivery of a path ingested in the range is read again; identical rows change
    nothing downstream. New landing files are ingested as in any run; the alerts are
    evaluated after it as after any run. Holds the writer lock.
    """
    if end < start:
        raise LakeshopError(f"replay: --to {end} is before --from {start}")
    return run(
        project,
        target=target,
        replay=(start, end),
        listener=listener,
        wait=wait,
        wait_timeout=wait_timeout,
        engine=engine,
    )


def writer_lock_of(
    project: Project,
    target: str | None,
    *,
    purpose: str = "run",
    wait: bool = False,
    timeout: float | None = None,
) -> AbstractContextManager[WriterLock]:
    """The target's writer lock (see :mod:`lakeshop.pipeline.lock`); a run's id is filled in
    once the run has recorded itself in ``_system.runs``."""
    lakehouse = project.lakehouse(target)
    _, settings = project.target(target)

    def run_id(locked_at: datetime) -> str | None:
        since = locked_at.astimezone(UTC).replace(tzinfo=None)
        runs = system.read(lakehouse, system.RUNS).to_pylist()
        mine = [r for r in runs if r["status"] == "running" and r["started_at"] >= since]
        return str(mine[0]["run_id"]) if mine else None

    return writer_lock(
        lakehouse,
        purpose=purpose,
        wait=wait,
        timeout=timeout,
        stale_after=settings.lock_stale_seconds,
        resolve_run_id=run_id if purpose == "run" else None,
    )


def unmatched_files(project: Project) -> list[str]:
    """Landing files that no source's ``path`` matches (see
    :func:`lakeshop.pipeline.ingest.discovery.unmatched_files`)."""
    from lakeshop.pipeline.ingest.discovery import unmatched_files as unmatched

    return unmatched(project.landing, project.sources)


def status(project: Project, target: str | None = None) -> pa.Table:
    """Per declared table: rows, last refresh, the result of its latest run (status and
    error), and whether it is stale (a source's configuration changed since its rows were
    read: ``lakeshop run --rebuild-changed``)."""
    from lakeshop.pipeline.changes import stale

    lakehouse = project.lakehouse(target)
    why: dict[str, str] = {}
    for s in stale(lakehouse, project.sources, project.graph):
        for t in s.tables:
            why.setdefault(t, f"sources.{s.source}: {s.reason}")
    last = latest_events(system.read(lakehouse, system.EVENTS).to_pylist())
    rows = []
    for name in project.graph.order():
        table = project.graph.tables[name]
        exists = table.stored and lakehouse.exists(name)
        dt = lakehouse.delta(name) if exists else None
        meta = dt.history(1)[0] if dt else {}
        ev = last.get(name, {})
        rows.append(
            {
                "table": name,
                "kind": table.kind.value,
                "rows": dt.to_pyarrow_dataset().count_rows() if dt else 0,
                "version": dt.version() if dt else None,
                "last_refresh_ms": meta.get("timestamp"),
                "last_status": ev.get("status"),
                "last_error": ev.get("error"),
                "stale": why.get(name),
            }
        )
    return pa.Table.from_pylist(rows)


def latest_events(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each table's event of its latest run (highest batch id, then latest start), whatever
    order the event log is read in."""
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        seen = last.get(e["table_name"])
        if seen is None or (e["batch_id"], e["started_at"]) >= (
            seen["batch_id"],
            seen["started_at"],
        ):
            last[e["table_name"]] = e
    return last


def quality(
    project: Project, run_id: str | None = None, table: str | None = None, target: str | None = None
) -> pa.Table:
    """Pass rates per table and expectation for one run.

    By default the latest run whose checks saw at least one row (of ``table`` when given), so
    that a run with nothing new does not hide the last real figures.
    """
    lakehouse = project.lakehouse(target)
    if table is not None and table not in project.graph.tables:
        raise TableNotFound(table, nearby_tables(table, project.graph.tables))
    exps = system.read(lakehouse, system.EXPECTATIONS)
    rows = [r for r in exps.to_pylist() if table is None or r["table_name"] == table]
    runs = sorted({str(r["run_id"]) for r in rows})
    if run_id is not None and run_id not in runs:
        recent = ", ".join(runs[-5:]) or "none yet"
        raise LakeshopError(
            f"--run {run_id}: no expectations recorded for this run; latest runs: {recent}"
        )
    checked = [str(r["run_id"]) for r in rows if r["passed"] + r["failed"]]
    chosen = run_id or (max(checked) if checked else max(runs, default=None))
    rows = [
        r
        | {
            "pass_rate": round(r["passed"] / (r["passed"] + r["failed"]), 4)
            if r["passed"] + r["failed"]
            else 1.0
        }
        for r in rows
        if r["run_id"] == chosen
    ]
    if not rows:
        return exps.schema.append(pa.field("pass_rate", pa.float64())).empty_table()
    return pa.Table.from_pylist(rows)


def test_models(
    project: Project, model: str | None = None, engine: EngineName | None = None
) -> list[CaseResult]:
    """Run the unit tests of the project's models (``tests/*.yml``; those of ``model`` when
    given) in memory on the target's engine, or ``engine``: one result per case."""
    from lakeshop.app.models import unittests
    from lakeshop.pipeline.lineage import Lineage

    cases = []
    for path in unittests.case_files(project.directory):
        shown = str(project.shown / path.relative_to(project.directory))
        cases += unittests.read_cases(path, shown)
    chosen = unittests.select_cases(cases, model, project.graph.tables)
    if not chosen:
        return []
    lineage = Lineage(project.graph, project.sources)
    with project.scratch_engine(engine) as opened:
        name = opened.capabilities.name
        return unittests.run_cases(chosen, project.graph.tables, lineage, opened, name)

"""The runner: executes the graph in order, isolates failures, writes the event log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from lakeshop.core.errors import ConfigError, ExpectationFailed, LakeshopError
from lakeshop.core.logs import get_logger, run_context
from lakeshop.core.version import __version__
from lakeshop.engines import delta_log
from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import interrupt, lakeformat, system
from lakeshop.pipeline.changes import Stale, rebuild_trigger, stale
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.graph import Graph, driving_table
from lakeshop.pipeline.ingest.discovery import unmatched_files
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.raw import parse_trigger, replay_trigger
from lakeshop.pipeline.sources import Source
from lakeshop.pipeline.strategies.base import Inputs
from lakeshop.pipeline.strategies.registry import strategy_for


@dataclass
class TableOutcome:
    """What happened to one table in a run."""

    name: str
    kind: Kind
    status: str  # ok | failed | skipped
    result: TableResult = field(default_factory=TableResult)
    seconds: float = 0.0
    error: str | None = None
    #: CPU time of the process (every thread: DuckDB's, delta-rs') while the table ran
    cpu_seconds: float = 0.0


@dataclass
class RunSummary:
    """The outcome of a whole run."""

    run_id: str
    batch_id: int
    status: str
    outcomes: list[TableOutcome]
    seconds: float
    #: landing files that match no source (relative to the landing folder)
    unmatched: list[str] = field(default_factory=list)
    #: sources whose tables hold rows of another configuration, and were not rebuilt
    stale: list[Stale] = field(default_factory=list)
    #: sources whose tables this run rebuilt (``--rebuild-changed``, or a rebuild owed)
    rebuilt: list[Stale] = field(default_factory=list)

    @property
    def failed(self) -> list[TableOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def refused(self) -> list[tuple[str, str, str]]:
        """Files the run refused: (table, landing path, reason), in run order."""
        return [
            (o.name, path, reason)
            for o in self.outcomes
            for path, reason in o.result.refused.items()
        ]


Listener = Callable[[TableOutcome], None]

log = get_logger(__name__)


def next_batch_id(lakehouse: Lakehouse) -> int:
    """One more than the highest batch id any run has used."""
    runs = system.read(lakehouse, system.RUNS)
    top = pc.max(runs.column("batch_id")).as_py() if runs.num_rows else None
    return int(top or 0) + 1


def run(
    graph: Graph,
    engine: Engine,
    *,
    landing: Path,
    sources: dict[str, Source],
    target: str = "dev",
    select: Iterable[str] | None = None,
    full_refresh: bool = False,
    replay: tuple[date, date] | None = None,
    trigger: str = "manual",
    listener: Listener | None = None,
    rebuild_changed: bool = False,
    through: date | None = None,
) -> RunSummary:
    """Run every selected table in dependency order; dependants of a failure are skipped.

    ``replay`` (first and last ingestion date) reads those dates' raw copies into bronze
    again. A full refresh or a replay whose run was killed is resumed by the next run: it
    may have replaced bronze rows without logging them.

    Tables of a source whose configuration changed since its files were ingested are stale
    (:mod:`lakeshop.pipeline.changes`): listed in the summary, and rebuilt from the raw copies
    with ``rebuild_changed`` (each of them as by a full refresh, the others incrementally). A
    rebuild that did not end ``ok`` is resumed by the next run.

    ``through`` (a business day): landing files whose name holds a later date are left for a
    later run (see :func:`lakeshop.pipeline.ingest.discovery.delivered_after`).
    """
    lakehouse = engine.lakehouse
    lakeformat.record_if_new(lakehouse)
    started = datetime.now(UTC).replace(tzinfo=None)
    batch_id = next_batch_id(lakehouse)
    run_id = f"{started:%Y%m%dT%H%M%S}-{batch_id:06d}"
    for dead in _close_aborted_runs(lakehouse, started):
        full_refresh = full_refresh or bool(dead["full_refresh"])
        replay = _union(replay, parse_trigger(dead["trigger"]))
    if replay is not None and not full_refresh:
        trigger = replay_trigger(*replay)
    chosen = _selection(graph, select)
    found = [] if full_refresh else stale(lakehouse, sources, graph)
    rebuilt = [s for s in found if rebuild_changed or s.reason != "configuration changed"]
    if rebuilt and select:
        raise ConfigError(
            "--select",
            "no selection while tables are rebuilt ("
            + "; ".join(s.describe() for s in rebuilt)
            + "): run them all",
            ", ".join(select),
        )
    if rebuilt and parse_trigger(trigger) is None:  # a replay's trigger names its range
        trigger = rebuild_trigger({s.source for s in rebuilt})
    rebuild = {t for s in rebuilt for t in s.tables}
    with run_context(run_id):
        ctx = RunContext(
            run_id,
            batch_id,
            engine,
            lakehouse,
            landing,
            sources,
            started,
            full_refresh,
            replay,
            through=through,
        )
        run_row = {
            "run_id": run_id,
            "batch_id": batch_id,
            "target": target,
            "engine": engine.capabilities.name,
            "trigger": trigger,
            "full_refresh": full_refresh,
            "status": "running",
            "started_at": started,
            "lakeshop_version": __version__,
        }
        system.append(lakehouse, system.RUNS, [run_row])
        system.create_missing(lakehouse)
        unmatched = unmatched_files(landing, sources)
        for s in found:
            log.warning(
                "tables rebuilt" if s in rebuilt else "tables stale",
                extra={"source": s.source, "reason": s.reason, "tables": s.tables},
            )
        if unmatched:
            log.warning("landing files match no source", extra={"files": unmatched})
        log.info(
            "run started",
            extra={k: run_row[k] for k in ("target", "engine", "trigger", "full_refresh")}
            | {"batch_id": batch_id, "tables": len(chosen)},
        )
        clock = time.perf_counter()
        outcomes: dict[str, TableOutcome] = {}
        events = _EventLog(ctx)
        stopped = keyboard = False
        try:
            for name in graph.order():
                if name not in chosen:
                    continue
                if interrupt.requested():  # a safe point: between two tables
                    stopped = True
                    break
                table = graph.tables[name]
                blocked = [
                    u
                    for u in graph.upstream[name]
                    if outcomes.get(u) and outcomes[u].status != "ok"
                ]
                if blocked:
                    outcome = TableOutcome(
                        name, table.kind, "skipped", error=f"upstream {blocked[0]} did not succeed"
                    )
                else:
                    mine = replace(ctx, full_refresh=True) if name in rebuild else ctx
                    outcome = _run_table(graph, table, mine)
                outcomes[name] = outcome
                _log_table(outcome)
                events.add(outcome)
                if listener:
                    listener(outcome)
            stopped = stopped or interrupt.requested()
        except KeyboardInterrupt:  # no signal handling installed (a notebook): recorded, raised
            stopped = keyboard = True
        events.flush()
        done = list(outcomes.values())
        status = "failed" if any(o.status == "failed" for o in done) else "ok"
        status = "interrupted" if stopped else status
        ended = datetime.now(UTC).replace(tzinfo=None)
        first_error = next((f"{o.name}: {o.error}" for o in done if o.status == "failed"), None)
        first_error = interrupt.MESSAGE if stopped else first_error
        system.append(
            lakehouse,
            system.RUNS,
            [
                run_row
                | {
                    "status": status,
                    "ended_at": ended,
                    "error": first_error,
                    "tables_ok": sum(o.status == "ok" for o in done),
                    "tables_failed": sum(o.status == "failed" for o in done),
                    "tables_skipped": sum(o.status == "skipped" for o in done),
                    "files_refused": sum(len(o.result.refused) for o in done),
                    "unmatched_files": json.dumps(unmatched) if unmatched else None,
                }
            ],
        )
        summary = RunSummary(
            run_id,
            batch_id,
            status,
            done,
            time.perf_counter() - clock,
            unmatched,
            [s for s in found if s not in rebuilt],
            rebuilt,
        )
        log.log(
            logging.INFO if status == "ok" else logging.ERROR,
            f"run {status}",
            extra={
                "status": status,
                "seconds": round(summary.seconds, 3),
                "tables_ok": sum(o.status == "ok" for o in done),
                "tables_failed": len(summary.failed),
                "tables_skipped": sum(o.status == "skipped" for o in done),
                "error": first_error,
            },
        )
        if keyboard:
            raise KeyboardInterrupt
        return summary


def _union(a: tuple[date, date] | None, b: tuple[date, date] | None) -> tuple[date, date] | None:
    """The smallest range covering both (None: no range)."""
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _close_aborted_runs(lakehouse: Lakehouse, now: datetime) -> list[dict[str, Any]]:
    """Record as aborted the runs that started and never ended (their process was killed).

    Only one run writes at a time, so a run still marked running when another starts is dead.
    Returns them, and the latest run when it was interrupted (by a signal, at a safe point):
    what a killed run leaves to resume, it leaves too.
    """
    runs = system.read(lakehouse, system.RUNS).to_pylist()
    ended = {r["run_id"] for r in runs if r["status"] != "running"}
    dead = [r for r in runs if r["status"] == "running" and r["run_id"] not in ended]
    finals = [r for r in runs if r["status"] != "running"]
    latest = max(finals, key=lambda r: (r["batch_id"] or 0, r["run_id"]), default=None)
    resumed = [latest] if latest is not None and latest["status"] == "interrupted" else []
    if dead:
        system.append(
            lakehouse,
            system.RUNS,
            [
                r
                | {
                    "status": "aborted",
                    "ended_at": now,
                    "error": "the run's process ended before the run did",
                }
                for r in dead
            ],
        )
    return dead + resumed


def _selection(graph: Graph, select: Iterable[str] | None) -> set[str]:
    if not select:
        return set(graph.tables)
    chosen = set()
    for name in select:
        if name not in graph.tables:
            raise ConfigError(
                "--select", f"one of the declared tables: {', '.join(sorted(graph.tables))}", name
            )
        chosen.add(name)
    return chosen


def _run_table(graph: Graph, table: Table, ctx: RunContext) -> TableOutcome:
    clock, cpu = time.perf_counter(), time.process_time()
    outcome = _execute(graph, table, ctx)
    outcome.seconds = time.perf_counter() - clock
    outcome.cpu_seconds = time.process_time() - cpu
    return outcome


def _execute(graph: Graph, table: Table, ctx: RunContext) -> TableOutcome:
    """The table's strategy, its failure caught (timed by :func:`_run_table`)."""
    if table.refused is not None:  # a project model whose declaration or SQL is wrong
        return TableOutcome(table.name, table.kind, "failed", error=table.refused)
    strategy = strategy_for(table.kind)
    try:
        inputs = Inputs(
            tuple(sorted(graph.stored_inputs(table.name))),
            driving_table(table.sql) if strategy.reads_increments and table.sql else None,
        )
        # the logs tell that nothing changed upstream: no binding, no SQL (a no-op run's cost)
        if strategy.idle(table, ctx, inputs):
            result = TableResult(note="up to date")
        else:
            _bind_upstream(graph, table, ctx, inputs.driving)
            result = strategy.execute(table, ctx, inputs)
    except ExpectationFailed as exc:
        error = _where(table, exc.expectation) + str(exc)
    except LakeshopError as exc:
        error = _where(table) + str(exc)
    except Exception as exc:  # an engine or storage bug must not take the other branches down
        error = f"{_where(table)}{type(exc).__name__}: {exc}"
        if delta_log.is_disk_full(exc):
            where = getattr(exc, "filename", None) or ctx.lakehouse.path(table.name)
            error = _where(table) + str(delta_log.disk_full(Path(where)))
    else:
        return TableOutcome(table.name, table.kind, "ok", result)
    return TableOutcome(table.name, table.kind, "failed", error=error)


def _where(table: Table, expectation: str | None = None) -> str:
    """``models/x.yml:12: `` for a project's table (its expectation's line when named), so
    that its failure names the file to fix; nothing for lakeshop's own tables."""
    declared = next((e.origin for e in table.expectations if e.name == expectation), "")
    origin = declared or (f"{table.origin}:1" if table.origin else "")
    return f"{origin}: " if origin else ""


def _bind_upstream(graph: Graph, table: Table, ctx: RunContext, driving: str | None) -> None:
    """Bind every upstream; the driving one (of an incremental strategy) to its new rows."""
    marks = ctx.lakehouse.watermarks(table.name) if driving and not ctx.full_refresh else {}
    for up in sorted(graph.upstream[table.name]):
        upstream = graph.tables[up]
        if upstream.kind is Kind.VIEW:
            _bind_upstream(graph, upstream, ctx, None)
            ctx.engine.bind_view(up, upstream.sql)
        elif up == driving and up in marks:
            ctx.engine.bind_table(up, where=f"_batch_id > {marks[up]}")
        else:
            ctx.engine.bind_table(up)


#: a failed table is an error of the run; the tables skipped after it follow from it
_LEVELS = {"ok": logging.INFO, "skipped": logging.INFO, "failed": logging.ERROR}


def _log_table(o: TableOutcome) -> None:
    r = o.result
    log.log(
        _LEVELS.get(o.status, logging.INFO),
        f"table {o.status}",
        extra={
            "table": o.name,
            "kind": o.kind.value,
            "status": o.status,
            "rows_in": r.rows_in,
            "rows_written": r.rows_written,
            "rows_quarantined": r.rows_quarantined,
            "rows_deduplicated": r.rows_deduplicated,
            "rows_filtered": r.rows_filtered,
            "seconds": round(o.seconds, 3),
            "cpu_seconds": round(o.cpu_seconds, 3),
        }
        | ({"error": o.error} if o.error else {})
        | ({"note": r.note} if r.note else {}),
    )


#: seconds between two commits of a run's events (and at its end): readers follow the
#: run's progress at that pace, and a run of many short tables does not commit twice per table
EVENTS_EVERY_SECONDS = 10.0


class _EventLog:
    """Writes the run's rows of ``_system.events`` and ``_system.expectations``.

    Outcomes are committed together: at the end of the run, and during it when a table
    failed or when the last commit is ``EVENTS_EVERY_SECONDS`` old, so that readers follow a
    long run's progress. A commit per table cost two Delta commits per table, 8 % of a daily
    run's time at SF 0.3. The tables' own commits do not depend on them.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.events: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.flushed = time.monotonic()

    def add(self, o: TableOutcome) -> None:
        r = o.result
        self.events.append(
            {
                "run_id": self.ctx.run_id,
                "batch_id": self.ctx.batch_id,
                "table_name": o.name,
                "kind": o.kind.value,
                "rows_in": r.rows_in,
                "rows_written": r.rows_written,
                "rows_quarantined": r.rows_quarantined,
                "rows_deduplicated": r.rows_deduplicated,
                "rows_filtered": r.rows_filtered,
                "duration_s": round(o.seconds, 3),
                "status": o.status,
                "error": o.error,
                "started_at": self.ctx.started_at,
            }
        )
        self.checks += [
            {
                "run_id": self.ctx.run_id,
                "table_name": o.name,
                "expectation": e.name,
                "action": e.action.value,
                "passed": e.passed,
                "failed": e.failed,
            }
            for e in r.expectations
        ]
        if o.status == "failed" or time.monotonic() - self.flushed >= EVENTS_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.events:
            system.append(self.ctx.lakehouse, system.EVENTS, self.events)
        if self.checks:
            system.append(self.ctx.lakehouse, system.EXPECTATIONS, self.checks)
        self.events, self.checks = [], []
        self.flushed = time.monotonic()

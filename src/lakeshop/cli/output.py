"""What the commands print: tables as a table, csv or json; a run's progress lines and
summary; the one line an error becomes."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table as RichTable

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.alerts import Outcome
    from lakeshop.app.api import RunResult
    from lakeshop.app.project import Project
    from lakeshop.pipeline.runner import Listener, RunSummary, TableOutcome

out = Console()
err = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def error(message: str) -> None:
    """One line on stderr: newlines and terminal escapes of the message are flattened."""
    err.print(f"[red]error:[/] {escape(flat(message))}", soft_wrap=True, highlight=False)


def flat(text: str) -> str:
    """``text`` on one line, without terminal escapes."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


_COLOURS = {"ok": "green", "failed": "red", "skipped": "yellow"}


def progress(project: Project) -> Listener:
    """A listener printing one compact line per table, names aligned on the longest."""
    width = max((len(n) for n in project.graph.tables), default=0)

    def show(outcome: TableOutcome) -> None:
        out.print(progress_line(outcome, width), soft_wrap=True, highlight=False)

    return show


def progress_line(outcome: TableOutcome, width: int = 0) -> str:
    """``ok      silver.orders  in 1,785 → 1,517 written, 18 quarantined, 250 dedup  0.12s``.

    Zero quarantined or deduplicated counts are left out; a failure or skip ends with its reason.
    """
    r = outcome.result
    status = f"[{_COLOURS.get(outcome.status, 'default')}]{outcome.status:7}[/]"
    parts = [f"in {r.rows_in:,} → {r.rows_written:,} written"]
    if r.rows_quarantined:
        parts.append(f"{r.rows_quarantined:,} quarantined")
    if r.rows_deduplicated:
        parts.append(f"{r.rows_deduplicated:,} dedup")
    if r.rows_filtered:
        parts.append(f"{r.rows_filtered:,} filtered")
    if outcome.status == "skipped":
        detail = f"[yellow]{escape(outcome.error or '')}[/]"
    elif outcome.error:
        detail = f"{outcome.seconds:.2f}s  [red]{escape(flat(outcome.error))}[/]"
    else:
        note = f"  ({escape(r.note)})" if r.note else ""
        detail = f"{', '.join(parts)}  {outcome.seconds:.2f}s{note}"
    return f"{status} {outcome.name:{width}}  {detail}"


def summarise(result: RunResult) -> None:
    """The run's closing line (tables ok, failed and skipped, rows written and quarantined),
    then the alerts evaluated after it."""
    summary = result.summary
    ok = sum(o.status == "ok" for o in summary.outcomes)
    failed = len(summary.failed)
    skipped = sum(o.status == "skipped" for o in summary.outcomes)
    written = sum(o.result.rows_written for o in summary.outcomes)
    quarantined = sum(o.result.rows_quarantined for o in summary.outcomes)
    colour = "green" if summary.status == "ok" else "red"
    out.print(
        f"[{colour}]run {summary.run_id} {summary.status}[/]: {ok} tables ok, {failed} failed, {skipped} skipped; "
        f"{written:,} rows written, {quarantined:,} quarantined or rejected, {summary.seconds:.1f}s",
        soft_wrap=True,
        highlight=False,
    )
    for line in run_notes(summary):
        colour = "red" if line.startswith("refused") else "yellow"
        out.print(f"[{colour}]{escape(line)}[/]", soft_wrap=True, highlight=False)
    print_alerts(result.alerts)
    synced = result.sync
    if synced is not None:
        if synced.ok:
            tables = len(synced.result.tables) if synced.result else 0
            out.print(
                f"[green]sync postgres ok[/]: {tables} tables, {synced.rows_sent:,} rows sent, "
                f"{synced.seconds:.1f}s",
                highlight=False,
            )
        else:
            line = f"sync postgres failed: {flat(synced.error or '')}"
            out.print(f"[red]{escape(line)}[/]", soft_wrap=True, highlight=False)
        if synced.alerts is not None:
            print_alerts(synced.alerts)
    for step in result.steps:  # registered after the run (lakeshop.app.hooks): ml.refresh
        colour = {"ok": "green", "failed": "red"}.get(step.status, "dim")
        took = f" ({step.seconds:.1f}s)" if step.seconds else ""
        out.print(
            f"[{colour}]{escape(step.name)} {step.status}[/]: {escape(flat(step.detail))}{took}",
            soft_wrap=True,
            highlight=False,
        )


def run_notes(summary: RunSummary) -> list[str]:
    """What a run's closing line leaves out: the tables that failed and the files refused,
    each named; the sources rebuilt or stale; the landing files that match no source."""
    lines = [f"failed: {o.name}: {flat(o.error or '')}" for o in summary.failed]
    lines += [f"refused: {path} ({table}): {flat(why)}" for table, path, why in summary.refused]
    lines += [f"rebuilt: {s.describe()}" for s in summary.rebuilt]
    lines += [
        f"stale: {s.describe()}; run `lakeshop run --rebuild-changed` to rebuild them"
        for s in summary.stale
    ]
    if summary.unmatched:
        n = len(summary.unmatched)
        lines.append(
            f"unmatched: {n} landing file{' matches' if n == 1 else 's match'} no source's path: "
            + ", ".join(summary.unmatched)
        )
    return lines


def print_alerts(outcome: Outcome) -> None:
    """The alerts an evaluation fired, with their deliveries; rules it could not evaluate."""
    from lakeshop.app.alerts import describe

    for line in describe(outcome):
        colour = "red" if line.startswith(("critical", "not evaluated")) else "yellow"
        out.print(f"[{colour}]{escape(line)}[/]", soft_wrap=True, highlight=False)


def print_table(table: pa.Table, fmt: OutputFormat) -> None:
    """An Arrow table in the chosen format (csv written by Arrow, byte for byte; a list,
    struct or map column as one JSON text per value; in json, maps as objects)."""
    if fmt is OutputFormat.csv:
        import pyarrow.csv as pacsv

        sys.stdout.flush()
        sink = sys.stdout.buffer
        pacsv.write_csv(flat_columns(table), sink)
        sink.flush()
        return
    if fmt is OutputFormat.table and table.num_rows > TABLE_ROWS:
        # a table is drawn in Python, row by row: millions of rows would take many minutes
        err.print(
            f"showing the first {TABLE_ROWS:,} of {table.num_rows:,} rows; "
            "--format csv or json (or LIMIT) for all",
            soft_wrap=True,
            highlight=False,
        )
        table = table.slice(0, TABLE_ROWS)
    print_rows(table.to_pylist(maps_as_pydicts="lossy"), fmt, table.column_names)


#: most rows ``--format table`` draws (csv and json write every row)
TABLE_ROWS = 1_000


def flat_columns(table: pa.Table) -> pa.Table:
    """``table`` with each nested column (list, struct, map) as text: its values in JSON."""
    import pyarrow as pa

    for i, f in enumerate(table.schema):
        if pa.types.is_nested(f.type):
            values = table.column(i).to_pylist(maps_as_pydicts="lossy")
            text = [None if v is None else json.dumps(v, default=str) for v in values]
            table = table.set_column(i, pa.field(f.name, pa.string()), pa.array(text, pa.string()))
    return table


def print_rows(
    rows: Sequence[Mapping[str, object]], fmt: OutputFormat, columns: list[str] | None = None
) -> None:
    """Rows as a table (folded to the terminal, whole into a pipe), csv or json."""
    columns = columns or (list(rows[0]) if rows else [])
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    if fmt is OutputFormat.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    view = RichTable(show_lines=False, header_style="bold")
    for c in columns:
        view.add_column(escape(c), overflow="fold")
    for r in rows:
        view.add_row(*["" if r.get(c) is None else escape(str(r.get(c))) for c in columns])
    # folded to the terminal's width; written whole into a pipe or a file
    if out.is_terminal:
        out.print(view)
    else:
        wide = Measurement.get(out, out.options.update_width(10_000), view).maximum
        Console(width=max(out.width, wide)).print(view)
    out.print(f"{len(rows)} row(s)", style="dim")

"""Data quality of the lakehouse: expectation pass rates of a run, a sample of the rows it
quarantined with their reasons, the quarantine rate over runs, and the revenue that sits on
inferred and guest members (``lakeshop quality``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.core import sqltext
from lakeshop.observe import sql
from lakeshop.pipeline import system

#: the layer whose ``drop`` expectations quarantine rows: the default scope of the trend
QUARANTINE_SCHEMA = "silver"

SAMPLE_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("failed_expectations", pa.string()),
        ("row_values", pa.string()),
    ]
)


@dataclass(frozen=True)
class QualityReport:
    """What ``lakeshop quality`` shows: one run's checks and quarantined rows, and the trend."""

    run_id: str | None
    expectations: pa.Table
    quarantined: pa.Table
    trend: pa.Table
    members: pa.Table


def report(
    project: Project,
    run_id: str | None = None,
    table: str | None = None,
    *,
    sample_rows: int = 5,
    trend_runs: int = 20,
    target: str | None = None,
) -> QualityReport:
    """Expectations of a run (default: the latest that checked rows, see :func:`api.quality`),
    up to ``sample_rows`` quarantined rows per table of that run, the quarantine rate of
    the last ``trend_runs`` runs (of ``table``, else of the silver tables together), and the
    revenue on inferred and guest members (:func:`member_revenue`)."""
    checks = api.quality(project, run_id, table, target)
    chosen = checks.column("run_id")[0].as_py() if checks.num_rows else run_id
    sample = (
        quarantined(project, chosen, table, rows=sample_rows, target=target)
        if chosen is not None
        else SAMPLE_SCHEMA.empty_table()
    )
    trend = quarantine_trend(
        project, table, runs=trend_runs, totals_only=table is None, target=target
    )
    return QualityReport(chosen, checks, sample, trend, member_revenue(project, target=target))


#: what :func:`member_revenue` reads
MEMBER_TABLES = ("gold.fact_sales", "gold.dim_customer", "gold.dim_product", "gold.dim_store")


def member_revenue(project: Project, *, target: str | None = None) -> pa.Table:
    """Revenue of gold's sales lines (base currency) on the guest customer and on inferred
    customers, products and stores (placeholders for keys whose record has not arrived),
    against all revenue: lines, distinct members, amount and share (docs/gold.md). Empty
    before gold is built."""
    lakehouse = project.lakehouse(target)
    if not all(lakehouse.exists(t) for t in MEMBER_TABLES):
        return _MEMBERS_SCHEMA.empty_table()
    return api.query(project, sql.render("quality/member_revenue"), target)


def quarantined(
    project: Project,
    run_id: str,
    table: str | None = None,
    *,
    rows: int = 5,
    target: str | None = None,
) -> pa.Table:
    """Up to ``rows`` rows per table that run ``run_id`` sent to quarantine: source file and
    line, the expectations failed, and the row's own values as JSON (bookkeeping left out).
    For an ingest table, the lines it rejected as malformed, with the reason and their text."""
    lakehouse = project.lakehouse(target)
    names = [table] if table is not None else sorted(project.graph.tables)
    parts = []
    for name in names:
        declared = project.graph.tables[name]
        for kind, held in (("quarantined", declared.quarantine), ("rejected", declared.rejects)):
            if lakehouse.exists(held):
                holder = "quarantine" if kind == "quarantined" else "rejects"  # its parameter
                relation = {holder: sqltext.to_table(*held.split("."))}
                text = sql.render(
                    f"quality/{kind}_sample", table=name, run_id=run_id, rows=rows, **relation
                )
                parts.append(f"({text})")
    if not parts:
        return SAMPLE_SCHEMA.empty_table()
    found = api.query(project, "\nUNION ALL\n".join(parts), target)
    # display only: at most `rows` per table, so a loop over them is not a data path
    values = [_own_values(text) for text in found.column("row_json").to_pylist()]
    return pa.Table.from_arrays(
        [*found.drop_columns(["row_json"]).columns, pa.array(values, pa.string())],
        schema=SAMPLE_SCHEMA,
    )


def _own_values(row_json: str | None) -> str | None:
    """The row's business columns as compact JSON: without ``_*`` bookkeeping columns (a
    rejected line is its text, as read)."""
    if row_json is None:
        return None
    row = json.loads(row_json)
    if not isinstance(row, dict):
        return str(row)
    return json.dumps({k: v for k, v in row.items() if not k.startswith("_")}, ensure_ascii=False)


def quarantine_trend(
    project: Project,
    table: str | None = None,
    *,
    runs: int = 20,
    totals_only: bool = False,
    target: str | None = None,
) -> pa.Table:
    """Quarantine rate per run, oldest first, over the last ``runs`` runs that read rows: of
    ``table``, or of every silver table plus their total (``is_total``; ``totals_only`` keeps
    just the totals)."""
    lakehouse = project.lakehouse(target)
    query = sql.render(
        "quality/quarantine_rate",
        table=table or "",
        schema=QUARANTINE_SCHEMA,
        runs=runs,
    )
    if not lakehouse.exists(system.EVENTS):
        return _TREND_SCHEMA.empty_table()
    found = api.query(project, query, target)
    if table is not None:  # the total of one table is that table
        return found.filter(pc.invert(found.column("is_total")))
    if totals_only:
        return found.filter(found.column("is_total"))
    return found


_MEMBERS_SCHEMA = pa.schema(
    [
        ("members_of", pa.string()),
        ("lines", pa.int64()),
        ("members", pa.int64()),
        ("revenue_base", pa.decimal128(18, 2)),
        ("share_of_revenue", pa.decimal128(18, 4)),
    ]
)

_TREND_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("table_name", pa.string()),
        ("is_total", pa.bool_()),
        ("rows_in", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("quarantine_rate", pa.float64()),
    ]
)

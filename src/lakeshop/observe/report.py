"""``lakeshop report``: one self-contained HTML file of charts over gold and ``_system``.

Every chart's data comes from a ``.sql`` file under ``lakeshop/sql/report`` (or from
:mod:`lakeshop.observe.quality`) through :func:`lakeshop.app.api.query`. plotly draws the charts; its
JavaScript is inlined once from the installed package, so the file opens without a network.
Each chart has a stable element id (:data:`CHARTS`) and a title; a chart without data is an
explicit note, never an empty plot.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from lakeshop import __version__
from lakeshop.core.errors import LakeshopError
from lakeshop.observe import sql
from lakeshop.pipeline.graph import referenced_tables

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshop.app.project import Project

TEMPLATE = Path(__file__).parent / "templates" / "report.html"
ALERTS = "_system.alerts"

#: element id → title, in page order (the alerts table is ``alerts``)
CHARTS = {
    "chart-revenue-by-channel": "Daily revenue by channel",
    "chart-orders-per-day": "Orders per day",
    "chart-top-products": "Top products by revenue",
    "chart-quarantine-trend": "Quarantine rate over runs",
    "chart-quality-pass-rates": "Expectation pass rates",
    "chart-run-durations": "Run durations",
}
_WIDE = {"chart-quality-pass-rates", "chart-run-durations"}
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class Report:
    """A built report: its HTML and what each chart showed (rows, or why it has none)."""

    html: str
    as_of: date | None
    rows: dict[str, int] = field(default_factory=dict)
    empty: dict[str, str] = field(default_factory=dict)
    alerts: int = 0


def write(
    project: Project,
    out: Path,
    *,
    days: int = 30,
    target: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Build the report (see :func:`build`) and write it to ``out``, creating its folder."""
    if out.is_dir():
        raise LakeshopError(f"--out {out}: is a folder; give a file name such as report.html")
    from lakeshop.app import api

    with api.reading(project, target):
        built = build(project, days=days, target=target, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(built.html, encoding="utf-8")
    return built


def build(
    project: Project, *, days: int = 30, target: str | None = None, now: datetime | None = None
) -> Report:
    """The report of the last ``days`` days: business charts end at the latest order date,
    run charts and alerts at the newest run (and alert)."""
    if days < 1:
        raise LakeshopError(f"--days {days}: expected a number of days >= 1")
    source = _Source(project, target)
    as_of = source.as_of()
    report = Report("", as_of)
    sections: list[str] = []
    for chart_id, title in CHARTS.items():
        figure, caption, why = _CHART_BUILDERS[chart_id](source, as_of, days)
        if figure is None:
            report.empty[chart_id] = why
            body = (
                f'<div class="no-data" id="{chart_id}" data-empty="true">No data: {_e(why)}</div>'
            )
        else:
            report.rows[chart_id] = _traces(figure)
            body = figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=chart_id,
                config=_PLOT_CONFIG,
                default_height="340px",
            )
        wide = " wide" if chart_id in _WIDE else ""
        sections.append(
            f'<section class="card{wide}" id="section-{chart_id[6:]}"><h2>{_e(title)}</h2>'
            f'<p class="caption">{_e(caption)}</p>{body}</section>'
        )
    alerts_html, report.alerts = _alerts_section(source, days)
    sections.append(alerts_html)
    report.html = _page(project, source, as_of, days, sections, report, now)
    return report


# --- data -----------------------------------------------------------------------------------


class _Source:
    """Runs the report's SQL files; a query over a table that does not exist yet is no data."""

    def __init__(self, project: Project, target: str | None):
        self.project, self.target = project, target
        self.lakehouse = project.lakehouse(target)

    def missing(self, text: str) -> str | None:
        """The first table ``text`` reads that the lakehouse does not hold, if any."""
        for name in sorted(referenced_tables(text)):
            if not self.lakehouse.exists(name):
                return name
        return None

    def fetch(self, name: str, **params: Any) -> tuple[pa.Table | None, str]:
        """The rows of ``sql/report/<name>.sql``, or None and why there are none."""
        from lakeshop.app import api

        text = sql.render(f"report/{name}", **params)
        absent = self.missing(text)
        if absent is not None:
            return None, f"{absent} does not exist yet (run `lakeshop run`)"
        found = api.query(self.project, text, self.target, shape=sql.load(f"report/{name}"))
        return (found, "") if found.num_rows else (None, "the query returned no rows")

    def as_of(self) -> date | None:
        from lakeshop.app import analytics

        if self.missing(analytics.LATEST_SQL):
            return None
        try:
            return analytics.default_as_of(self.project, self.target)
        except LakeshopError:
            return None


# --- charts ---------------------------------------------------------------------------------

Built = tuple[Any, str, str]  # (plotly figure or None, caption, why there is no data)


#: plotly's colours on a plain white layout (its named templates cost ~0.4 s per figure to apply)
_COLOURS = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"]
_AXIS = {
    "gridcolor": "#e4e7eb",
    "zerolinecolor": "#cbd2d9",
    "linecolor": "#cbd2d9",
    "automargin": True,
}


def _layout(figure: Any, left: int = 60, **extra: Any) -> Any:
    figure.update_layout(
        template="none",
        colorway=_COLOURS,
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        margin={"l": left, "r": 20, "t": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        xaxis=_AXIS,
        yaxis=_AXIS,
        **extra,
    )
    return figure


def _days_axis(figure: Any) -> Any:
    """Business dates as days (plotly would otherwise tick hours between two dates)."""
    figure.update_xaxes(type="date", tickformat="%b %d", dtick=86_400_000, tickangle=0)
    return figure


def _business(source: _Source, as_of: date | None, days: int, name: str) -> tuple[Any, str]:
    if as_of is None:
        return None, "gold.fact_sales has no sales yet (run `lakeshop run`)"
    return source.fetch(name, as_of=as_of, days=days)


def _revenue(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = f"Revenue lines in the base currency, by order date, {days} days to {as_of}."
    rows, why = _business(source, as_of, days, "revenue_by_channel")
    if rows is None:
        return None, caption, why
    figure = go.Figure()
    for channel, part in _split(rows, "channel"):
        figure.add_trace(
            go.Scatter(x=part["sales_date"], y=part["revenue"], name=channel, mode="lines+markers")
        )
    return _days_axis(_layout(figure, yaxis_title="revenue (base currency)")), caption, ""


def _orders(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = (
        f"Distinct orders with a revenue line, by order date and channel, {days} days to {as_of}."
    )
    rows, why = _business(source, as_of, days, "orders_per_day")
    if rows is None:
        return None, caption, why
    figure = go.Figure()
    for channel, part in _split(rows, "channel"):
        figure.add_trace(go.Bar(x=part["sales_date"], y=part["orders"], name=channel))
    return _days_axis(_layout(figure, barmode="stack", yaxis_title="orders")), caption, ""


def _top_products(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = f"The ten products with the most revenue, {days} days to {as_of}."
    rows, why = _business(source, as_of, days, "top_products")
    if rows is None:
        return None, caption, why
    data = rows.to_pydict()
    figure = go.Figure(
        go.Bar(
            x=data["revenue"][::-1],
            y=[f"{n} ({p})" for n, p in zip(data["product_name"], data["product_id"], strict=True)][
                ::-1
            ],
            orientation="h",
            customdata=data["units"][::-1],
            hovertemplate="%{y}<br>revenue %{x:,.2f}<br>units %{customdata}<extra></extra>",
            name="revenue",
        )
    )
    return _layout(figure, xaxis_title="revenue (base currency)", left=260), caption, ""


#: the pass-rate chart shows at most this many expectations, the worst first
WORST = 25


def _pass_rates(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    rows, why = source.fetch("pass_rates", days=days)
    if rows is None:
        return None, f"Expectations checked in the runs of the last {days} days.", why
    data = rows.to_pydict()
    failing = [i for i, f in enumerate(data["failed"]) if f]
    total = rows.num_rows
    caption = (
        f"Rows passing each expectation, summed over the runs of the last {days} days: "
        f"{total - len(failing)} of {total} expectations passed on every row"
        + (f"; the {min(WORST, len(failing))} worst of the others are shown." if failing else ".")
    )
    shown = (failing or list(range(total)))[:WORST][::-1]
    figure = go.Figure(
        go.Bar(
            x=[100 * data["pass_rate"][i] for i in shown],
            y=[f"{data['table_name'][i]} · {data['expectation'][i]}" for i in shown],
            orientation="h",
            customdata=[[data["failed"][i], data["action"][i]] for i in shown],
            hovertemplate="%{y}<br>pass rate %{x:.2f} %<br>failed %{customdata[0]:,}"
            " (action %{customdata[1]})<extra></extra>",
            name="pass rate",
        )
    )
    low = min(100 * data["pass_rate"][i] for i in shown)
    figure.update_xaxes(range=[max(0.0, low - (100 - low) * 0.2 - 0.5), 100])
    height = max(340, 28 * len(shown) + 80)
    return _layout(figure, xaxis_title="pass rate (%)", left=330, height=height), caption, ""


def _quarantine(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    from lakeshop.observe import quality

    caption = (
        "Share of the rows read by each silver table that failed a drop expectation, per run "
        "(bold: all silver tables together); the last 30 runs that read rows."
    )
    if source.missing("SELECT * FROM _system.events"):
        return None, caption, "_system.events does not exist yet (run `lakeshop run`)"
    rows = quality.quarantine_trend(source.project, runs=30, target=source.target)
    if rows.num_rows == 0:
        return None, caption, "no run has read rows yet"
    figure = go.Figure()
    for table, part in _split(rows, "table_name"):
        total = part["is_total"][0]
        figure.add_trace(
            go.Scatter(
                x=[_run_label(t) for t in part["started_at"]],
                y=[100 * r for r in part["quarantine_rate"]],
                name=table,
                mode="lines+markers",
                line={"width": 4 if total else 1.5},
                customdata=list(zip(part["rows_quarantined"], part["rows_in"], strict=True)),
                hovertemplate=f"{table}<br>%{{y:.3f}} %<br>%{{customdata[0]:,}} of "
                "%{customdata[1]:,} rows<extra></extra>",
            )
        )
    # runs as categories in start order: runs seconds apart stay apart
    order = sorted({t for t in rows.column("started_at").to_pylist()})
    figure.update_xaxes(
        type="category", categoryorder="array", categoryarray=[_run_label(t) for t in order]
    )
    return _layout(figure, yaxis_title="% of rows read"), caption, ""


def _durations(source: _Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = (
        f"Runs of the last {days} days: seconds spent per layer (bars) and wall-clock "
        "duration (line); failed runs are marked ✕."
    )
    rows, why = source.fetch("run_durations", days=days)
    if rows is None:
        return None, caption, why
    data = rows.to_pydict()
    labels = [_run_label(t) for t in data["started_at"]]
    figure = go.Figure()
    for layer in ("bronze", "silver", "gold"):
        figure.add_trace(go.Bar(x=labels, y=data[f"{layer}_s"], name=layer))
    symbols = ["x" if s != "ok" else "circle" for s in data["status"]]
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=data["duration_s"],
            name="wall clock",
            mode="lines+markers",
            marker={"symbol": symbols, "size": 10},
            customdata=list(zip(data["run_id"], data["status"], strict=True)),
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>%{y:.1f} s<extra></extra>",
        )
    )
    figure.update_xaxes(type="category")
    return _layout(figure, barmode="stack", yaxis_title="seconds"), caption, ""


_CHART_BUILDERS = {
    "chart-revenue-by-channel": _revenue,
    "chart-orders-per-day": _orders,
    "chart-top-products": _top_products,
    "chart-quality-pass-rates": _pass_rates,
    "chart-quarantine-trend": _quarantine,
    "chart-run-durations": _durations,
}


def _run_label(started: datetime) -> str:
    return f"{started:%m-%d %H:%M:%S}"


def _split(rows: pa.Table, column: str) -> list[tuple[str, dict[str, list[Any]]]]:
    """The rows grouped by ``column`` (first appearance order), each as column lists."""
    import pyarrow.compute as pc

    out = []
    for value in pc.unique(rows.column(column)).to_pylist():
        part = rows.filter(pc.equal(rows.column(column), value))
        out.append((str(value), part.to_pydict()))
    return out


def _traces(figure: Any) -> int:
    return sum(len(t.x) if t.x is not None else 0 for t in figure.data)


# --- alerts and page ------------------------------------------------------------------------

_ALERT_COLUMNS = ("fired_at", "severity", "rule", "scope", "business_date", "value", "threshold")


def _alerts_section(source: _Source, days: int) -> tuple[str, int]:
    """The fired alerts as a table, or an explicit "no alerts fired" with the reason."""
    head = '<section class="card wide" id="section-alerts"><h2>Fired alerts</h2>'
    caption = f"Alerts recorded in {ALERTS} in the {days} days up to the newest one."
    if not source.lakehouse.exists(ALERTS):
        note = f"No alerts fired: {ALERTS} does not exist (no alert rule has fired yet)."
        return f'{head}<p class="caption">{_e(caption)}</p>{_no_alerts(note)}</section>', 0
    rows, _ = source.fetch("alerts", days=days)
    if rows is None:
        note = f"No alerts fired: {ALERTS} is empty."
        return f'{head}<p class="caption">{_e(caption)}</p>{_no_alerts(note)}</section>', 0
    header = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in (*_ALERT_COLUMNS, "message"))
    lines = []
    for r in rows.to_pylist():
        cells = [
            f'<td class="sev-{_e(str(r["severity"]).lower())}">{_e(_show(r[c]))}</td>'
            if c == "severity"
            else f"<td>{_e(_show(r[c]))}</td>"
            for c in _ALERT_COLUMNS
        ]
        cells.append(f"<td>{_e(_show(r['message']))}</td>")
        lines.append(f"<tr>{''.join(cells)}</tr>")
    table = (
        f'<table class="alerts" id="alerts" data-rows="{rows.num_rows}">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )
    return f'{head}<p class="caption">{_e(caption)}</p>{table}</section>', rows.num_rows


def _no_alerts(note: str) -> str:
    return f'<div class="no-data" id="alerts" data-rows="0">{_e(note)}</div>'


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _page(
    project: Project,
    source: _Source,
    as_of: date | None,
    days: int,
    sections: list[str],
    report: Report,
    now: datetime | None,
) -> str:
    from plotly.offline import get_plotlyjs

    name, _ = project.target(source.target)
    kpis = _kpis(source, as_of, days, report)
    meta = (
        f"target {_e(name)} · {days} days to {as_of or 'no sales yet'} · "
        f"lakehouse {_e(str(source.lakehouse.root))}"
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=_e(f"{project.config.name}: lakeshop report"),
        meta=meta,
        kpis=kpis,
        sections="\n".join(sections),
        version=__version__,
        generated_at=f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M:%S %Z}".strip(),
        plotly_js=get_plotlyjs(),
    )


def _kpis(source: _Source, as_of: date | None, days: int, report: Report) -> str:
    revenue = orders = None
    if as_of is not None:
        rows, _ = source.fetch("headline", as_of=as_of, days=days)
        if rows is not None:
            revenue, orders = rows.column("revenue")[0].as_py(), rows.column("orders")[0].as_py()
    cards = [
        ("Revenue", "—" if revenue is None else f"{revenue:,.0f}"),
        ("Orders", "—" if orders is None else f"{orders:,}"),
        ("Latest sales date", str(as_of) if as_of else "—"),
        ("Alerts fired", f"{report.alerts:,}"),
    ]
    return "".join(
        f'<div class="kpi"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div></div>'
        for label, value in cards
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)

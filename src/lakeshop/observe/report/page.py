"""The report's page: the charts and the fired alerts assembled into one self-contained HTML
file, with the template in ``observe/templates/report.html``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from lakeshop import __version__
from lakeshop.core.errors import LakeshopError
from lakeshop.observe.report.charts import BUILDERS, CHARTS, ML_CHARTS, ML_TABLES, WIDE, traces
from lakeshop.observe.report.data import Source

if TYPE_CHECKING:
    from lakeshop.app.project import Project

TEMPLATE = Path(__file__).parents[1] / "templates" / "report.html"
ALERTS = "_system.alerts"
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
    source = Source(project, target)
    as_of = source.as_of()
    report = Report("", as_of)
    sections: list[str] = []
    charts = dict(CHARTS)
    # the ML tables exist (empty) from the first run: the charts follow once `lakeshop ml` wrote
    if any(_has_rows(source, t) for t in ML_TABLES):
        charts |= ML_CHARTS
    for chart_id, title in charts.items():
        figure, caption, why = BUILDERS[chart_id](source, as_of, days)
        if figure is None:
            report.empty[chart_id] = why
            body = (
                f'<div class="no-data" id="{chart_id}" data-empty="true">No data: {_e(why)}</div>'
            )
        else:
            report.rows[chart_id] = traces(figure)
            body = figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=chart_id,
                config=_PLOT_CONFIG,
                default_height="340px",
            )
        wide = " wide" if chart_id in WIDE else ""
        sections.append(
            f'<section class="card{wide}" id="section-{chart_id[6:]}"><h2>{_e(title)}</h2>'
            f'<p class="caption">{_e(caption)}</p>{body}</section>'
        )
    alerts_html, report.alerts = _alerts_section(source, days)
    sections.append(alerts_html)
    report.html = _page(project, source, as_of, days, sections, report, now)
    return report


_ALERT_COLUMNS = ("fired_at", "severity", "rule", "scope", "business_date", "value", "threshold")


def _alerts_section(source: Source, days: int) -> tuple[str, int]:
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
    source: Source,
    as_of: date | None,
    days: int,
    sections: list[str],
    report: Report,
    now: datetime | None,
) -> str:
    from lakeshop.observe.report.plotlyjs import plotly_js

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
        plotly_js=plotly_js(),
    )


def _kpis(source: Source, as_of: date | None, days: int, report: Report) -> str:
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


def _has_rows(source: Source, name: str) -> bool:
    return source.lakehouse.exists(name) and source.lakehouse.dataset(name).count_rows() > 0

"""The report's charts: one plotly figure per chart id, from the report's data.

Each builder returns the figure (None without data), its caption and why there is no data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from lakeshop.observe.report.data import Source

if TYPE_CHECKING:
    import pyarrow as pa
    from plotly.graph_objects import Figure

#: element id → title, in page order (the alerts table is ``alerts``)
CHARTS = {
    "chart-revenue-by-channel": "Daily revenue by channel",
    "chart-orders-per-day": "Orders per day",
    "chart-top-products": "Top products by revenue",
    "chart-quarantine-trend": "Quarantine rate over runs",
    "chart-quality-pass-rates": "Expectation pass rates",
    "chart-run-durations": "Run durations",
}
#: the machine-learning charts, on the page once `lakeshop ml` has written any of its tables
ML_CHARTS = {
    "chart-forecast-vs-actual": "Demand forecast against actual sales, top product",
    "chart-churn-lift": "Churn model lift (backtest)",
}
#: the tables whose presence puts the machine-learning charts on the page
ML_TABLES = ("gold.demand_forecast", "_system.ml_backtests")
#: the charts drawn across the whole page
WIDE = {"chart-quality-pass-rates", "chart-run-durations", "chart-forecast-vs-actual"}

Built = tuple["Figure | None", str, str]  # (plotly figure or None, caption, why there is no data)


#: plotly's colours on a plain white layout (its named templates cost ~0.4 s per figure to apply)
_COLOURS = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"]
_AXIS = {
    "gridcolor": "#e4e7eb",
    "zerolinecolor": "#cbd2d9",
    "linecolor": "#cbd2d9",
    "automargin": True,
}


def _layout(figure: Figure, left: int = 60, **extra: Any) -> Figure:
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


def _days_axis(figure: Figure) -> Figure:
    """Business dates as days (plotly would otherwise tick hours between two dates)."""
    figure.update_xaxes(type="date", tickformat="%b %d", dtick=86_400_000, tickangle=0)
    return figure


def _business(
    source: Source, as_of: date | None, days: int, name: str
) -> tuple[pa.Table | None, str]:
    if as_of is None:
        return None, "gold.fact_sales has no sales yet (run `lakeshop run`)"
    return source.fetch(name, as_of=as_of, days=days)


def _revenue(source: Source, as_of: date | None, days: int) -> Built:
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


def _orders(source: Source, as_of: date | None, days: int) -> Built:
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


def _top_products(source: Source, as_of: date | None, days: int) -> Built:
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


def _forecast_vs_actual(source: Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = (
        f"Units per day of the product sold most in the {days} days to the last sales date, "
        "then the latest forecast (all its series summed; the band sums their intervals) and "
        "the seasonal-naive baseline."
    )
    rows, why = source.fetch("forecast_vs_actual", days=days)
    if rows is None:
        return None, caption, why
    d = rows.to_pydict()
    product = d["product_id"][0]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=d["day"],
            y=d["hi"],
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=d["day"],
            y=d["lo"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(99,110,250,0.2)",
            name="interval",
        )
    )
    figure.add_trace(
        go.Scatter(x=d["day"], y=d["actual"], name=f"actual ({product})", mode="lines+markers")
    )
    figure.add_trace(go.Scatter(x=d["day"], y=d["forecast"], name="forecast", mode="lines"))
    figure.add_trace(
        go.Scatter(
            x=d["day"], y=d["baseline"], name="seasonal naive", mode="lines", line={"dash": "dot"}
        )
    )
    return _layout(figure, yaxis_title="units"), caption, ""


def _churn_lift(source: Source, as_of: date | None, days: int) -> Built:
    import plotly.graph_objects as go

    caption = (
        "Cumulative lift of the latest churn backtest, all folds: the churn rate among the "
        "customers scored highest over the overall rate, model against the recency baseline."
    )
    rows, why = source.fetch("churn_lift")
    if rows is None:
        return None, caption, why
    figure = go.Figure()
    for role, part in _split(rows, "role"):
        figure.add_trace(
            go.Scatter(
                x=part["share_pct"],
                y=part["lift"],
                mode="lines+markers",
                name=f"{role} ({part['method'][0]})",
            )
        )
    return _layout(figure, xaxis_title="customers targeted, top %", yaxis_title="lift"), caption, ""


#: the pass-rate chart shows at most this many expectations, the worst first
WORST = 25


def _pass_rates(source: Source, as_of: date | None, days: int) -> Built:
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


def _quarantine(source: Source, as_of: date | None, days: int) -> Built:
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


def _durations(source: Source, as_of: date | None, days: int) -> Built:
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


BUILDERS: dict[str, Callable[[Source, date | None, int], Built]] = {
    "chart-revenue-by-channel": _revenue,
    "chart-orders-per-day": _orders,
    "chart-top-products": _top_products,
    "chart-quality-pass-rates": _pass_rates,
    "chart-quarantine-trend": _quarantine,
    "chart-run-durations": _durations,
    "chart-forecast-vs-actual": _forecast_vs_actual,
    "chart-churn-lift": _churn_lift,
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


def traces(figure: Figure) -> int:
    """The points the figure draws, over all its traces."""
    return sum(len(t.x) if t.x is not None else 0 for t in figure.data)

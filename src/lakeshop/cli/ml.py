"""``lakeshop ml train|score|backtest [MODEL]``: demand forecasts, churn propensity, segments."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from lakeshop.cli.options import Target, load_project
from lakeshop.cli.output import out

if TYPE_CHECKING:
    from lakeshop.ml.api import Step

app = typer.Typer(
    name="ml",
    help="Machine learning on gold: demand forecasts, churn propensity, customer segments.",
    no_args_is_help=True,
)

Model = Annotated[
    str | None,
    typer.Argument(help="demand_forecast, churn or segments (default: every model)."),
]


def _show(steps: list[Step]) -> None:
    for s in steps:
        version = f" v{s.version}" if s.version is not None else ""
        wrote = f", {s.rows:,} rows → {s.table}" if s.table else ""
        out.print(
            f"[green]ok[/] {s.action} {s.model}{version} in {s.seconds:.1f}s{wrote}",
            highlight=False,
            soft_wrap=True,
        )
        # the lift curve is the report's chart (and _system.ml_backtests): too long for a line
        shown = {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in s.metrics.items()
            if "cumulative_lift" not in k
        }
        if shown:
            out.print(f"   {json.dumps(shown)}", highlight=False, soft_wrap=True, markup=False)


@app.command()
def train(model: Model = None, target: Target = None) -> None:
    """Train (every model by default) and store a new version under the lakehouse."""
    from lakeshop.ml import api

    _show(api.train(load_project(), model, target))


@app.command()
def score(
    model: Model = None,
    version: Annotated[
        int | None, typer.Option(help="The stored version to score with (default: latest).")
    ] = None,
    target: Target = None,
) -> None:
    """Write gold.demand_forecast, gold.churn_scores, gold.customer_segments from stored models."""
    from lakeshop.ml import api

    _show(api.score(load_project(), model, target, version))


@app.command()
def backtest(model: Model = None, target: Target = None) -> None:
    """Rolling-origin backtests against the baselines, into _system.ml_backtests."""
    from lakeshop.ml import api

    steps = api.backtest(load_project(), model, target)
    _show(steps)
    for s in steps:
        for r in s.backtest:
            if r["fold"] == "all":
                values = ", ".join(
                    f"{k}={v:.4f}" for k, v in r["metrics"].items() if "cumulative_lift" not in k
                )
                out.print(
                    f"   {s.model} {r['role']:8} ({r['method']}): {values}",
                    highlight=False,
                    soft_wrap=True,
                    markup=False,
                )

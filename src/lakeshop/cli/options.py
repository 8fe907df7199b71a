"""The options several commands share, the state the global ones set, and the checks of
option values that typer cannot express."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakeshop.cli.output import OutputFormat
from lakeshop.engines.registry import EngineName

if TYPE_CHECKING:
    from lakeshop.app.project import Project


class State:
    """The global options of the invocation (set by the app's callback)."""

    project_dir: Path = Path(".")
    debug: bool = False


Days = Annotated[int, typer.Option(min=1, help="Number of business days to generate.")]
Scale = Annotated[
    float, typer.Option(help="Scale factor per day, > 0 (1 ≈ 20,000 order lines a day).")
]
Defects = Annotated[
    float,
    typer.Option(min=0.0, max=0.5, help="Share of injected defective rows, 0 to 0.5 (0 = clean)."),
]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same files.")]
Wait = Annotated[
    bool, typer.Option("--wait", help="Wait for a run already writing the target to end.")
]
WaitTimeout = Annotated[
    float | None, typer.Option(min=0, help="With --wait: give up after this many seconds.")
]
Target = Annotated[
    str | None, typer.Option(help="Target from lakeshop.yml (default: its default_target).")
]
Format = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Business date YYYY-MM-DD the alert rules check (default: the latest)."
    ),
]
EngineOption = Annotated[
    EngineName | None,
    typer.Option("--engine", help="Execution engine (default: the target's, duckdb unless set)."),
]


def load_project() -> Project:
    """The project of ``--project``."""
    from lakeshop.app.project import Project

    return Project.load(State.project_dir)


def parse_date(option: str, text: str) -> date:
    """``text`` as a date, or a usage error naming ``option``."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected a date as YYYY-MM-DD, found {text!r} ({exc})", param_hint=f"'{option}'"
        ) from exc


def parse_time(option: str, text: str) -> datetime:
    """``text`` as a time (ISO 8601: ``2026-01-05``, ``2026-01-05T10:30``, with an offset or
    not; without one it is UTC), or a usage error naming ``option``."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected a time as YYYY-MM-DD[THH:MM[:SS]][+HH:MM], found {text!r}",
            param_hint=f"'{option}'",
        ) from exc


def check_scale(scale: float) -> None:
    """A usage error unless the scale factor is > 0."""
    if not scale > 0:
        raise typer.BadParameter(f"expected a number > 0, found {scale}", param_hint="'--scale'")

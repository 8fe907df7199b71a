"""Steps that run after a run's tables, its alerts and its sync, registered by the layers
above ``app`` (which ``app`` may not import): ``lakeshop.ml.refresh`` registers the refresh
of the models' gold tables. :func:`lakeshop.app.api.run` runs every registered step under the
run's writer lock; a step in trouble is reported in the run's result, never fails the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lakeshop.app.project import Project
from lakeshop.core.errors import first_line
from lakeshop.pipeline.runner import RunSummary

log = logging.getLogger("lakeshop.hooks")


@dataclass(frozen=True)
class StepResult:
    """What one step after a run did: ``ok``, ``failed`` or ``skipped`` (nothing to do), and
    a line saying what (or why)."""

    name: str
    status: str
    detail: str
    seconds: float = 0.0


#: (project, the run's summary, the target as asked: None for the default) → what was done
AfterRun = Callable[[Project, RunSummary, str | None], list[StepResult]]

_after_run: dict[str, AfterRun] = {}


def register(name: str, step: AfterRun) -> None:
    """Run ``step`` after every run of this process (once per name: registering again
    replaces it)."""
    _after_run[name] = step


def unregister(name: str) -> None:
    """Stop running the step ``name`` after runs (nothing when it is not registered)."""
    _after_run.pop(name, None)


def registered() -> list[str]:
    """The names of the steps registered, in order."""
    return list(_after_run)


def after_run(project: Project, summary: RunSummary, target: str | None) -> list[StepResult]:
    """Run every registered step after the run ``summary`` (under its writer lock). A step
    that raises is reported as failed; the others still run."""
    done: list[StepResult] = []
    for name, step in _after_run.items():
        began = time.perf_counter()
        try:
            done += step(project, summary, target)
        except Exception as exc:  # a step's own bug must not fail the run that fed it
            log.exception("step after the run failed", extra={"step": name})
            done.append(StepResult(name, "failed", first_line(exc), time.perf_counter() - began))
    return done

"""After a run, the dated alert rules judge every business day the run added or changed, not
only the latest: a revenue drop inside a first load of many days fires without ``--as-of``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lakeshop.app import alerts, api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import Incident, generate
from lakeshop.pipeline import system
from tests.conftest import copy_days

DROP = date(2026, 1, 18)
DAYS = 20


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty days of a small retailer whose 18th keeps 35 % of the day's orders."""
    out = tmp_path_factory.mktemp("drop") / "landing"
    generate(
        out, days=DAYS, scale=0.02, seed=21, incidents=[Incident.parse(f"revenue-drop:{DROP}")]
    )
    return out


def fired(outcome: alerts.Outcome) -> set[tuple[str, str, date | None]]:
    return {(a.firing.rule, a.firing.scope, a.firing.business_date) for a in outcome.fired}


def test_a_first_load_judges_every_day_it_brings(landing: Path, tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(landing, project.landing, [f"2026-01-{d:02d}" for d in range(1, DAYS + 1)])
    done = api.run(project)
    assert done.summary.status == "ok" and done.alerts.errors == {}
    assert done.alerts.as_of == date(2026, 1, DAYS)
    drops = {(rule, scope, day) for rule, scope, day in fired(done.alerts) if day == DROP}
    assert ("revenue_drop", "total", DROP) in drops
    assert {day for _, _, day in fired(done.alerts)} == {DROP}  # the other days are clean
    recorded = system.read(project.lakehouse(), system.ALERTS).to_pylist()
    assert {(r["rule"], r["scope"], r["business_date"]) for r in recorded} == fired(done.alerts)

    # a run that changes no day judges the as-of date only, and repeats nothing
    again = api.run(project)
    assert again.alerts.fired == [] and again.alerts.repeated == []
    evaluation = alerts.evaluate(project, run_id=again.summary.run_id)
    assert evaluation.days == [date(2026, 1, DAYS)]


@pytest.mark.slow  # several runs; test_a_first_load_judges_every_day_it_brings is its fast part
def test_a_run_judges_the_earlier_days_it_changed(landing: Path, tmp_path: Path) -> None:
    """Day 18 arrives with days 19 and 20 (a late export): it is judged with them."""
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    copy_days(landing, project.landing, [f"2026-01-{d:02d}" for d in range(1, 18)])
    first = api.run(project)
    assert first.summary.status == "ok" and first.alerts.fired == []
    copy_days(landing, project.landing, ["2026-01-18", "2026-01-19", "2026-01-20"])
    later = api.run(project)
    assert later.alerts.as_of == date(2026, 1, 20)
    assert ("revenue_drop", "total", DROP) in fired(later.alerts)
    evaluation = alerts.evaluate(project, run_id=later.summary.run_id)
    assert evaluation.days[0] <= DROP and evaluation.days[-3:] == [
        date(2026, 1, 18),
        date(2026, 1, 19),
        date(2026, 1, 20),
    ]
    # an explicit as-of date judges that day alone
    assert alerts.evaluate(project, date(2026, 1, 19)).days == [date(2026, 1, 19)]

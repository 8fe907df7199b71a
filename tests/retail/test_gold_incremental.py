"""Gold maintained day by day equals gold rebuilt in one full refresh, row for row: with the
generated retailer's own orphan settings (unknown keys held) and with the defaults (its
unknown-key defects enter gold on inferred members two business days later)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate
from tests.conftest import copy_days, default_orphans

DAYS = 8

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history") / "landing"
    generate(out, days=DAYS, scale=0.02, seed=5, defects=0.02)
    return out


def _gold(project: Project) -> dict[str, list[tuple]]:
    tables = {}
    for name in project.lakehouse().tables():
        if name.startswith("gold.") and "__" not in name:
            t = api.query(project, f"SELECT * EXCLUDE (_batch_id) FROM {name} ORDER BY ALL")
            tables[name] = [tuple(r.values()) for r in t.to_pylist()]
    return tables


@pytest.mark.parametrize("inferred", [False, True], ids=["held", "inferred"])
def test_incremental_runs_equal_a_full_refresh(history: Path, tmp_path: Path, inferred: bool):
    write_demo_config(tmp_path)
    if inferred:
        default_orphans(tmp_path)
    project = Project.load(tmp_path)
    first = date(2026, 1, 1)
    for i in range(DAYS):
        copy_days(history, tmp_path / "landing", [(first + timedelta(days=i)).isoformat()])
        summary = api.run(project).summary
        assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    incremental = _gold(project)
    members = "SELECT count(*) FROM gold.dim_customer WHERE is_inferred"
    assert bool(api.query(project, members).column(0)[0].as_py()) is inferred
    # the last runs recomputed only part of the facts
    notes = {o.name: o.result.note for o in summary.outcomes}
    assert "recomputed" in notes["gold.fact_sales"], notes["gold.fact_sales"]

    assert api.run(project, full_refresh=True).summary.status == "ok"
    full = _gold(project)
    assert set(incremental) == set(full)
    assert len(full) >= 11
    for name in sorted(full):
        assert full[name], name
        only_inc = sorted(set(incremental[name]) - set(full[name]))[:3]
        only_full = sorted(set(full[name]) - set(incremental[name]))[:3]
        assert incremental[name] == full[name], (name, only_inc, only_full)

"""Readers and a writer side by side: while ``lakeshop run`` commits a new day, queries through
the server keep answering, each from one committed snapshot (the figures before the run or
after it, never a mix), and the run is not held up by them."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.datagen import generate
from tests.conftest import copy_days

from .conftest import running

SQL = "SELECT count(*) AS n, sum(sales_total_base) AS revenue FROM gold.fact_sales"


@pytest.mark.slow
def test_a_run_and_readers_do_not_block_each_other(prebuilt: Any, tmp_path: Path) -> None:
    directory = prebuilt.demo_copy(tmp_path / "demo")
    project = Project.load(directory)
    # two more business days land after the demo's six (same retailer: same seed and scale)
    more = tmp_path / "more"
    generate(more, days=8, scale=0.02, seed=42, start_date=date(2026, 1, 1), defects=0.02)
    assert copy_days(more, project.landing, ["2026-01-07", "2026-01-08"])
    before = api.query(project, SQL).to_pylist()[0]
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["status"] = api.run(Project.load(directory)).summary.status

    with running(project, ("ada",)) as served:
        writer = threading.Thread(target=run)

        def read() -> None:  # one of four clients reading at once, as long as the run lasts
            with served.client("ada") as client:
                while writer.is_alive():
                    response = client.post("/api/sql", json={"sql": SQL})
                    if response.status_code != 200:
                        failures.append(response.text)
                    else:
                        answers.append(response.json()["rows"][0])

        writer.start()
        readers = [threading.Thread(target=read) for _ in range(4)]
        for r in readers:
            r.start()
        for r in readers:
            r.join()
        writer.join()
        after = served.sql("ada", SQL).json()["rows"][0]
    assert outcome["status"] == "ok"
    assert failures == []
    assert len(answers) >= 8  # the readers kept reading during the run
    assert after["n"] > before["n"]
    stored = api.query(Project.load(directory), SQL).to_pylist()[0]
    assert (after["n"], after["revenue"]) == (stored["n"], str(stored["revenue"]))
    seen = {(a["n"], a["revenue"]) for a in answers}
    assert seen <= {(before["n"], str(before["revenue"])), (after["n"], after["revenue"])}

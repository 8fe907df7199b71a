"""The benchmark script works end to end at a tiny scale (no timing assertions)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
STEPS = ("floor", "full", "incremental", "noop")


@pytest.mark.slow  # about 25 s of CPU: a generation and four runs
@pytest.mark.spark  # --engines duckdb,spark: the full run again on Spark
def test_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [sys.executable, str(SCRIPT), "--scale", "0.01", "--days", "3"]
    args += ["--cache", str(tmp_path / "cache"), "--json", str(out), "--engines", "duckdb,spark"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    history, last = report["input_rows"]["history"], report["input_rows"]["last_day"]
    assert history > last > 0
    steps = report["steps"]
    assert set(STEPS) <= set(steps)
    for name in STEPS:
        s = steps[name]
        assert s["wall_s"] > 0 and s["cpu_s"] > 0, name
        assert 20 << 20 < s["peak_rss_bytes"] < 8 << 30, name  # a Python process, not a GB leak
    assert steps["full"]["rows"] == history and steps["incremental"]["rows"] == last
    assert steps["noop"]["rows"] == 0
    # the floor parsed (almost) every history row: only malformed lines are skipped
    assert 0.9 * history <= steps["floor"]["rows"] <= history
    assert report["floor_parquet_bytes"] > 0
    gen = report["generator"]
    assert gen["cached"] is False and gen["order_lines"] > 0 and gen["order_lines_per_s"] > 0
    ratios = report["ratios"]
    assert ratios["full / floor"] == round(steps["full"]["wall_s"] / steps["floor"]["wall_s"], 4)
    figures = {t["figure"]: t for t in report["targets"]}
    assert {"full / floor", "incremental / full", "no-op wall (s)", "peak memory (GiB)"} <= set(
        figures
    )
    assert figures["no-op wall (s)"]["met"] == (steps["noop"]["wall_s"] < 2)
    # spark was asked for: either measured, or a reason is given
    assert report["spark"]["requested"] is True
    assert "spark_full" in steps or report["spark"]["skipped"]
    assert "| full / floor |" in done.stdout and "| noop |" in done.stdout

    # the retailer is generated once: a second run finds it in the cache
    spec = importlib.util.spec_from_file_location("bench_run", SCRIPT)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    options = argparse.Namespace(
        scale=0.01, days=3, seed=42, defects=0.02, cache=tmp_path / "cache", regenerate=False
    )
    landing, meta = bench.cached_retailer(options)
    assert meta["cached"] is True and (landing / "_ledger.json").is_file()


def test_ml_step_needs_a_churn_horizon_of_history(tmp_path: Path) -> None:
    args = [sys.executable, str(SCRIPT), "--ml", "--days", "30", "--cache", str(tmp_path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--ml: at least --days 90" in done.stderr
    assert not any(tmp_path.iterdir())  # refused before generating anything

"""The serve load generator, small: a real ``lakeshop serve`` and eight clients (each starting
at another request of the cycle) for about ten seconds while ``lakeshop run --full-refresh``
commits; no request fails and gold's accounting is the same after the run (no timing
asserted: latency is measured by the benchmark)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


def _serve_load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve_load", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # a server, a full refresh and ~10 s of clients
def test_clients_read_through_a_full_refresh_without_an_error(
    prebuilt: Any, tmp_path: Path
) -> None:
    directory = prebuilt.demo_copy(tmp_path / "demo")
    figures = _serve_load().load(directory, clients=8, seconds=10, run_after=2)
    assert figures["errors"] == 0, figures["statuses"]
    assert figures["requests"] >= 8  # every client was answered at least once
    assert set(figures["by_kind"]) == {"tile", "tile_csv", "sql"}
    assert figures["run_exit"] in (0, 3)  # 3: the generated retailer's refused file
    assert figures["accounting_unchanged"], (
        figures["accounting_before"],
        figures["accounting_after"],
    )
    assert figures["server_cpu_s"] > 0

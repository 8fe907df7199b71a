"""The JSON-lines benchmark script parses a landing folder's files (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "jsonl.py"


def test_jsonl_benchmark_counts_rows_and_rejects(tmp_path: Path) -> None:
    for source, text in [("clickstream", '{"a": 1}\n[1]\n'), ("payments", '{"b": 2}\n\n{"b"\n')]:
        (tmp_path / source).mkdir()
        (tmp_path / source / f"{source}_2026-01-01.jsonl").write_text(text)
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "orders_2026-01-01.jsonl").write_text('{"c": 3}\n')  # not measured
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("2 files, 2 rows + 2 rejects: "), done.stdout
    assert "CPU s" in done.stdout and "peak RSS" in done.stdout

"""Kill runs at random moments (N = 20): recovery loses nothing and doubles nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_twenty_random_kills_recover_to_the_uninterrupted_result(tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/crash_harness.py"),
            "--trials",
            "20",
            "--seed",
            "7",
            "--scale",
            "0.01",
            "--work",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "20 trials" in done.stdout and "0 with problems" in done.stdout
    killed = int(done.stdout.rsplit("trials, ", 1)[1].split(" killed", 1)[0])
    assert killed >= 15, done.stdout  # most kills land mid-run, not after it finished

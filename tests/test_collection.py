"""Test ids are the same in every process: pytest-xdist's workers each collect the suite and
refuse to start when their lists differ (a parametrize value holding the clock, a random
draw or a set's order)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def collected(hash_seed: int, *args: str) -> list[str]:
    """The suite's test ids (those that pytest's ``args`` select), collected in a fresh process
    with this string-hash seed."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow  # two collections of the whole suite; -n's workers compare theirs on every run
def test_two_collections_a_second_apart_give_the_same_ids() -> None:
    first = collected(hash_seed=1)
    time.sleep(1.5)  # a value taken from the clock (a gzip header's mtime) changes by then
    second = collected(hash_seed=2)
    assert first, "nothing collected"
    assert first == second, sorted(set(first) ^ set(second))


@pytest.mark.slow
def test_the_files_of_the_longest_tiers_come_first_each_whole() -> None:
    """The files go to the workers in collection order (``./dev``: ``--no-loadscope-reorder``):
    a file with a ``cluster`` test before any without, a file's tests together and in order."""
    heavy = {i.split("::")[0] for i in collected(1, "-m", "cluster")}
    ids = collected(hash_seed=1)
    files = [i.split("::")[0] for i in ids]
    order = list(dict.fromkeys(files))  # each file once, where it first appears
    assert heavy and set(order[: len(heavy)]) == heavy, order[: len(heavy) + 2]
    # contiguous: a file whose tests were split would set its module fixtures up twice
    assert [file for file, _ in itertools.groupby(files)] == order

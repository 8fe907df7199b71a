"""Fault injection: kill a run at a random moment, recover, and compare with an unharmed run.

Every table of the lakehouse (bronze, rejects, silver, quarantine, gold) must hold, by content,
exactly what an uninterrupted run over the same files produces; no file may be ingested twice
or skipped; the killed run must be recorded as aborted; ``lakeshop doctor`` must pass.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from lakeshop.app.project import Project
from lakeshop.engines import storage
from lakeshop.ops.doctor import diagnose
from lakeshop.pipeline import system

#: columns that name a run or a moment, not content
VOLATILE = {"_batch_id", "_run_id", "_ingested_at"}


@dataclass
class Trial:
    """One kill and recovery."""

    number: int
    kill_after_s: float
    killed: bool
    problems: list[str] = field(default_factory=list)
    #: where its lakehouse was (removed once checked)
    root: str = ""


def snapshot(
    project: Project, ignore: frozenset[str] = frozenset()
) -> dict[str, Counter[tuple[object, ...]]]:
    """Every data table's rows (volatile columns, and those in ``ignore``, left out) as a
    multiset."""
    lakehouse = project.lakehouse()
    out: dict[str, Counter[tuple[object, ...]]] = {}
    for name in lakehouse.tables():
        if name.startswith("_system."):
            continue
        table = lakehouse.read(name)
        keep = [c for c in table.column_names if c not in VOLATILE | ignore]
        rows = table.select(keep).to_pylist()
        out[name] = Counter(tuple(_hashable(v) for v in r.values()) for r in rows)
    return out


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def compare(
    expected: dict[str, Counter[tuple[object, ...]]], got: dict[str, Counter[tuple[object, ...]]]
) -> list[str]:
    """What differs between two snapshots, table by table."""
    problems = []
    for name in sorted(set(expected) | set(got)):
        want, have = expected.get(name, Counter()), got.get(name, Counter())
        if want != have:
            missing = sum((want - have).values())
            extra = sum((have - want).values())
            problems.append(f"{name}: {missing} row(s) missing, {extra} row(s) extra")
    return problems


def ingestion_problems(project: Project) -> list[str]:
    """Files ingested more than once, or not at all."""
    log = system.read(project.lakehouse(), system.FILES).to_pylist()
    done = Counter(
        (r["source"], r["path"], r["sha256"])
        for r in log
        if r["status"] in ("ingested", "redelivered", "duplicate", "error")
    )
    problems = [f"{s}:{p} ingested {n} times" for (s, p, _), n in done.items() if n > 1]
    for source in project.sources.values():
        for path in source.files(project.landing):
            rel = path.relative_to(project.landing).as_posix()
            if not any(k[0] == source.name and k[1] == rel for k in done):
                problems.append(f"{source.name}:{rel} never ingested")
    return problems


def run_problems(project: Project) -> list[str]:
    """Runs left without an end, and runs that ended other than ok, aborted or interrupted.

    A killed run that had recorded its start must have been closed as aborted by the next.
    """
    runs = system.read(project.lakehouse(), system.RUNS).to_pylist()
    ended = {r["run_id"]: r["status"] for r in runs if r["status"] != "running"}
    problems = [
        f"run {r['run_id']} left without an end"
        for r in runs
        if r["status"] == "running" and r["run_id"] not in ended
    ]
    problems += [
        f"run {rid} ended {status}"
        for rid, status in ended.items()
        if status not in ("ok", "aborted", "interrupted")
    ]
    return problems


def _run_cli(directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakeshop.cli", "--project", str(directory), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def trials(
    base: Path,
    work: Path,
    n: int,
    seed: int = 0,
    report: Callable[[Trial], None] | None = None,
    parallel: int = 1,
    prepare: Callable[[Path, str], None] | None = None,
) -> list[Trial]:
    """Run ``n`` kill-and-recover trials over the project in ``base`` (landing + config).

    ``base`` holds a project whose lakehouse reflects earlier runs and whose landing has new
    files; each trial copies it, kills a ``lakeshop run`` at a random moment, runs again and
    compares. Trials are independent lakehouses: ``parallel`` of them run at a time, each in a
    worker process that imports lakeshop once and does the recovery run in-process.
    ``prepare(copy, name)`` (a module-level function: workers are spawned) adapts each copy
    (``reference``, ``trial-3`` ...) after it is made: a target on an object store gets a
    prefix of its own there. A trial's copy and its lakehouse are removed once checked.
    """
    rng = random.Random(seed)
    reference = work / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    shutil.copytree(base, reference)
    if prepare:
        prepare(reference, "reference")
    clock = time.perf_counter()
    # 3: the run went through and refused a file (the generated defects include unreadable files)
    if _run_cli(reference).wait() not in (0, 3):
        raise RuntimeError(f"the uninterrupted run over {reference} failed")
    span = time.perf_counter() - clock
    expected = snapshot(Project.load(reference))
    delays = [rng.uniform(0.3, span) for _ in range(n)]
    # spawn, not fork: the parent's deltalake runtime threads must not be forked
    with ProcessPoolExecutor(
        max_workers=max(1, parallel),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_remember,
        initargs=(expected,),
    ) as pool:
        futures = [pool.submit(_trial, base, work, i, delays[i], prepare) for i in range(n)]
        done = []
        for future in as_completed(futures):
            done.append(future.result())
            if report:
                report(done[-1])
    return sorted(done, key=lambda t: t.number)


_expected: dict[str, Counter[tuple[object, ...]]] = {}


def _remember(expected: dict[str, Counter[tuple[object, ...]]]) -> None:
    _expected.update(expected)


def _trial(
    base: Path,
    work: Path,
    number: int,
    delay: float,
    prepare: Callable[[Path, str], None] | None = None,
) -> Trial:
    """Kill a run of a copy of ``base`` after ``delay`` seconds, recover, and compare."""
    from lakeshop.app import api

    trial_dir = work / f"trial-{number}"
    shutil.rmtree(trial_dir, ignore_errors=True)
    shutil.copytree(base, trial_dir)
    if prepare:
        prepare(trial_dir, trial_dir.name)
    proc = _run_cli(trial_dir)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    trial = Trial(number, round(delay, 2), killed)
    project = Project.load(trial_dir)
    try:
        recovery = api.run(project).summary
        if recovery.status != "ok":
            failed = "; ".join(f"{o.name}: {o.error}" for o in recovery.failed)
            trial.problems.append(f"the recovery run ended {recovery.status}: {failed}")
    except Exception as exc:  # the harness reports every failure, it never stops at one
        trial.problems.append(f"the recovery run raised {type(exc).__name__}: {exc}")
    # the trial's lakehouse is its own: nobody commits to it while it is checked, so each
    # table's log is listed once (on an object store, a request each time it is looked at)
    with project.lakehouse().sole_writer():
        trial.problems += compare(_expected, snapshot(project))
        trial.problems += ingestion_problems(project)
        trial.problems += run_problems(project)
        trial.problems += [f"doctor: {p}" for p in diagnose(project).problems]
    # checked: its lakehouse goes (on an object store, its prefix: left there, every trial's
    # objects would be listed by the store with every later request's)
    root = project.lakehouse().root
    trial.root = str(root)
    if storage.is_remote(root):
        storage.remove_tree(root)
    shutil.rmtree(trial_dir, ignore_errors=True)
    return trial

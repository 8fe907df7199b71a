"""``benchmarks/run.py --continuous``: latency from a file landing to its rows in gold.

The last generated day is cut into hourly files (each delivery's rows split in ``hours``
equal parts, in the order the generator wrote them: its hours), and they land one hour at a
time, ``every`` seconds apart, while ``lakeshop run --continuous`` runs on a copy of the
project built from the history. Each file is moved into the landing folder at once
(``os.replace`` from a folder beside it: a delivery appears whole) and the moment recorded.

A file's latency is from that moment to the end of the micro-batch that ingested it: the
``ended_at`` of its run in ``_system.runs``, taken once every table of the run, gold
included, has committed (the alert rules and the sync come after it). An hour's latency is
that of its last file: when the whole hour is in gold. Unreadable files (a generator defect)
land whole with the first hour; their latency counts as any other.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import psutil

#: a micro-batch line of ``lakeshop run --continuous`` (stderr)
_BATCH = "micro-batch"


def split_hourly(
    landing: Path, files: list[dict[str, Any]], staging: Path, hours: int
) -> list[list[str]]:
    """Cut each generated file into ``hours`` parts under ``staging/<hour>/`` (``orders/
    orders_2026-03-01.csv`` → ``orders/orders_2026-03-01_07.csv``); the relative paths of
    each hour's files."""
    out: list[list[str]] = [[] for _ in range(hours)]
    for f in files:
        src = landing / f["file"]
        stem, dot, ext = src.name.partition(".")
        parent = Path(f["file"]).parent
        if f.get("unreadable") or not f["rows"] or ext not in ("csv", "jsonl"):
            rel = (parent / src.name).as_posix()
            target = staging / "0" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            out[0].append(rel)
            continue
        header, rows = _records(src, ext)
        for h in range(hours):
            part = rows[len(rows) * h // hours : len(rows) * (h + 1) // hours]
            if not part:
                continue
            rel = (parent / f"{stem}_{h:02d}{dot}{ext}").as_posix()
            target = staging / str(h) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(target, ext, header, part)
            out[h].append(rel)
    return out


def _records(path: Path, ext: str) -> tuple[list[str] | None, list[Any]]:
    """A file's header (CSV) and records, bytes kept as they were (surrogateescape)."""
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        if ext == "jsonl":
            return None, [line for line in fh if line.strip()]
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else (None, [])


def _write(path: Path, ext: str, header: list[str] | None, part: list[Any]) -> None:
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        if ext == "jsonl":
            fh.writelines(line if line.endswith("\n") else line + "\n" for line in part)
            return
        writer = csv.writer(fh)
        if header is not None:
            writer.writerow(header)
        writer.writerows(part)


def _percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), linear between the nearest ranks."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def measure_latency(
    command: list[str],
    project: Path,
    staging: Path,
    hourly: list[list[str]],
    every: float,
    log: Path,
    rss: Callable[[psutil.Process], int],
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Start the continuous process, land each hour ``every`` seconds apart, wait until the
    last file's rows are in gold, stop it with SIGTERM; the latencies and the process's cost."""
    from lakeshop.app.project import Project
    from lakeshop.pipeline import system

    landing = Project.load(project).landing
    lakehouse = Project.load(project).lakehouse()
    load_start = os.getloadavg()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = psutil.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        # the first micro-batch (the history's leftovers: none) before the first hour lands
        _wait(lambda: _batches(log) >= 1, proc, timeout, "the first micro-batch")
        landed: dict[str, float] = {}
        start = time.time()
        for h, files in enumerate(hourly):
            while time.time() < start + h * every:
                peak = max(peak, rss(proc))
                time.sleep(0.05)
            for rel in files:
                target = landing / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / str(h) / rel, target)
                landed[rel] = time.time()
            print(f"  hour {h:02d}: {len(files)} files landed", file=sys.stderr)

        def all_in() -> bool:
            nonlocal peak
            peak = max(peak, rss(proc))
            got = system.read(lakehouse, system.FILES).select(["path", "batch_id"]).to_pylist()
            ingested = {r["path"] for r in got}
            ended = {
                r["batch_id"]
                for r in system.read(lakehouse, system.RUNS).to_pylist()
                if r["ended_at"]
            }
            return all(p in ingested for p in landed) and all(
                r["batch_id"] in ended for r in got if r["path"] in landed
            )

        _wait(all_in, proc, timeout, "every hourly file in gold")
        proc.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(proc.pid, 0)
    files = system.read(lakehouse, system.FILES).to_pylist()
    runs = [r for r in system.read(lakehouse, system.RUNS).to_pylist() if r["ended_at"]]
    ended = {r["batch_id"]: r["ended_at"].replace(tzinfo=UTC).timestamp() for r in runs}
    batch_of = {r["path"]: r["batch_id"] for r in files if r["path"] in landed}
    latency = {p: ended[batch_of[p]] - at for p, at in landed.items()}
    per_hour = [max(latency[p] for p in hour) for hour in hourly if hour]
    micro = [r for r in runs if r["trigger"] == "continuous"]
    seconds = [(r["ended_at"] - r["started_at"]).total_seconds() for r in micro]
    values = sorted(latency.values())
    return {
        "hours": len(hourly),
        "every_s": every,
        "files": len(landed),
        "micro_batches": len(micro),
        "micro_batch_status": sorted({r["status"] for r in micro}),
        "micro_batch_s": {
            "mean": round(statistics.fmean(seconds), 2) if seconds else None,
            "max": round(max(seconds), 2) if seconds else None,
        },
        "latency_s": {
            "p50": round(_percentile(values, 0.5), 2),
            "p95": round(_percentile(values, 0.95), 2),
            "max": round(values[-1], 2),
        },
        "hour_latency_s": {
            "p50": round(_percentile(sorted(per_hour), 0.5), 2),
            "p95": round(_percentile(sorted(per_hour), 0.95), 2),
            "max": round(max(per_hour), 2),
        },
        "exit_status": os.waitstatus_to_exitcode(status),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_bytes": peak,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }


def _batches(log: Path) -> int:
    return sum(_BATCH in line for line in log.read_text(errors="replace").splitlines())


def _wait(check: Callable[[], bool], proc: psutil.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"continuous mode exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"continuous mode: {what} not reached in {timeout:g}s")
        time.sleep(0.2)

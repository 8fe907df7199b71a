"""Measure lakeshop on a generated retailer: generation, a full run, a one-day incremental run.

    .venv/bin/python scripts/bench.py --scale 1 --days 15 [--work /tmp/lakeshop-bench]

Prints a Markdown report: machine, throughput, wall times (total and gold part), rows per table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from lakeshop import api
from lakeshop.datagen import generate
from lakeshop.pipeline.runner import RunSummary
from lakeshop.project import Project, write_demo_config


def copy_day(source: Path, landing: Path, day: date) -> None:
    for path in sorted(source.rglob(f"*_{day.isoformat()}*")):
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def seconds(summary: RunSummary, prefix: str) -> float:
    return sum(o.seconds for o in summary.outcomes if o.name.startswith(prefix))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lakeshop-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    source = args.work / "generated"
    clock = time.perf_counter()
    gen = generate(source, days=args.days, scale=args.scale, seed=args.seed)
    gen_s = time.perf_counter() - clock
    rows = sum(gen.rows.values())

    project_dir = args.work / "project"
    first = date(2026, 1, 1)
    for d in range(args.days - 1):
        copy_day(source, project_dir / "landing", first + timedelta(days=d))
    write_demo_config(project_dir)
    project = Project.load(project_dir)
    full = api.run(project)
    copy_day(source, project_dir / "landing", first + timedelta(days=args.days - 1))
    incremental = api.run(project)

    print(f"## lakeshop benchmark: SF {args.scale:g}, {args.days} days\n")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| generated rows ({args.days} days, defects 2 %) | {rows:,} |")
    print(f"| generator | {gen_s:.1f} s, {rows / gen_s:,.0f} rows/s |")
    print(
        f"| full run over {args.days - 1} days | {full.seconds:.1f} s (gold {seconds(full, 'gold.'):.1f} s) |"
    )
    print(
        f"| one-day incremental run | {incremental.seconds:.1f} s "
        f"(gold {seconds(incremental, 'gold.'):.1f} s) |"
    )
    print(f"| status | full {full.status}, incremental {incremental.status} |\n")
    print("| table | rows |\n|---|---|")
    lakehouse = project.lakehouse()
    for name in lakehouse.tables():
        if not name.startswith("_system."):
            print(f"| {name} | {lakehouse.dataset(name).count_rows():,} |")


if __name__ == "__main__":
    main()

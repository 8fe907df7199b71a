"""JSON-lines parsing benchmark: the DuckDB engine's ``parse_jsonl`` over landing files.

    .venv/bin/lakeshop generate --scale 1 --days 5 --out /tmp/jsonl-bench/landing
    .venv/bin/python benchmarks/jsonl.py /tmp/jsonl-bench/landing [--encoding E]

Parses every ``clickstream/*.jsonl*`` and ``payments/*.jsonl*`` file of the landing folder
(or the one file given) in this process and prints the lines parsed, the CPU seconds
(``time.process_time``: every thread of the process, DuckDB's included), the wall seconds and
the peak RSS, with the RSS before parsing (imports, DuckDB started) to subtract.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path, help="a landing folder, or one JSON-lines file")
    parser.add_argument("--encoding", default="utf-8")
    args = parser.parse_args()
    if args.landing.is_file():
        paths = [args.landing]
    else:
        paths = sorted(args.landing.glob("clickstream/*.jsonl*"))
        paths += sorted(args.landing.glob("payments/*.jsonl*"))
    with tempfile.TemporaryDirectory() as tmp, DuckDBEngine(Lakehouse(Path(tmp))) as engine:
        engine.fetch("SELECT 1")  # started before the clock
        before = _peak_mib()
        cpu, wall = time.process_time(), time.perf_counter()
        rows = rejects = 0
        for path in paths:
            parsed = engine.parse_jsonl(str(path), args.encoding)
            rows += parsed.rows.num_rows
            rejects += parsed.rejects.num_rows
            del parsed  # one file's result alive at a time, as in ingestion
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{len(paths)} files, {rows:,} rows + {rejects:,} rejects: {cpu:.2f} CPU s, "
        f"{wall:.2f} s wall, peak RSS {_peak_mib():.0f} MiB ({before:.0f} MiB before parsing)"
    )


if __name__ == "__main__":
    main()

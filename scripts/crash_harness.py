"""Kill `lakeshop run` at random moments N times and check that recovery loses and doubles nothing.

.venv/bin/python scripts/crash_harness.py --trials 200 [--seed 1] [--work /tmp/crash]
    [--root s3://bucket/prefix]   (the lakehouse on an object store: AWS_* from the environment)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.datagen import generate
from lakeshop.engines import storage
from lakeshop.ops.faults import Trial, trials


def prepare(work: Path, seed: int, scale: float, root: str | None = None) -> Path:
    """A project with two days already run and two more days of files waiting."""
    source = work / "generated"
    if not source.exists():
        generate(source, days=4, scale=scale, seed=seed, defects=0.05)
    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    first = date(2026, 1, 1)
    for day in range(4):
        stamp = (first + timedelta(days=day)).isoformat()
        for path in sorted(source.rglob(f"*_{stamp}*")):
            target = base / "landing" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        if day == 1:
            write_demo_config(base)
            if root:
                _set_root(base, root)
            if api.run(Project.load(base)).summary.status != "ok":
                raise RuntimeError("the baseline run failed")
    return base


def _set_root(project: Path, root: str) -> None:
    config_file = project / "lakeshop.yml"
    config = yaml.safe_load(config_file.read_text())
    config["targets"]["dev"]["root"] = root
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


def repoint(copy: Path, name: str) -> None:
    """A copy of the base project on an object store gets its own prefix, holding a copy of
    the base's objects (the lakehouse of the earlier runs): ``<root>-<name>``."""
    config = yaml.safe_load((copy / "lakeshop.yml").read_text())
    root = config["targets"]["dev"]["root"]
    if not storage.looks_remote(root):
        return  # the local lakehouse was copied with the folder
    source, dest = storage.location(root), storage.location(f"{root}-{name}")
    fs, _ = storage.arrow_filesystem(source)
    storage.remove_tree(dest)
    listing = fs.get_file_info(pafs.FileSelector(source.key, recursive=True))
    for info in listing:  # object by object: a folder copy would leave folder markers
        if info.type == pafs.FileType.File:
            fs.copy_file(info.path, dest.key + info.path[len(source.key) :])
    _set_root(copy, str(dest))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lakeshop-crash"))
    parser.add_argument("--scale", type=float, default=0.02, help="retailer size per day")
    parser.add_argument("--parallel", type=int, default=2, help="trials run at the same time")
    parser.add_argument(
        "--root",
        help="the lakehouse root (default: a folder of each copy); an s3://bucket/prefix "
        "gives each trial its own prefix (the store's settings from the environment)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = prepare(args.work, args.seed, args.scale, args.root)

    def show(t: Trial) -> None:
        state = "killed" if t.killed else "finished first"
        verdict = "ok" if not t.problems else "; ".join(t.problems)
        where = f"  ({t.root}, removed)" if storage.looks_remote(t.root) else ""
        print(
            f"trial {t.number:4d}  {state:14s} at {t.kill_after_s:5.2f}s  {verdict}{where}",
            flush=True,
        )

    results = trials(
        base, args.work, args.trials, args.seed, show, args.parallel, repoint if args.root else None
    )
    bad = [t for t in results if t.problems]
    killed = sum(t.killed for t in results)
    print(f"{len(results)} trials, {killed} killed mid-run, {len(bad)} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""``jail.matching`` resolves a listed file through its folder (resolved once per folder) and
a link through ``realpath``: the same inside/outside verdicts as resolving every file."""

from __future__ import annotations

import os
from pathlib import Path

from lakeshop.pipeline.jail import matching


def test_folders_and_links_are_judged_by_where_they_resolve(tmp_path: Path) -> None:
    real_landing = tmp_path / "real_landing"
    (real_landing / "2026-01-01").mkdir(parents=True)
    (real_landing / "2026-01-01" / "a.csv").write_text("x\n")
    (real_landing / "b.csv").write_text("x\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c.csv").write_text("x\n")
    # a folder linked inside landing, a folder linked out of it, a file linked out, a link
    # to a folder and a broken link (neither is a file)
    (real_landing / "today").symlink_to(real_landing / "2026-01-01")
    (real_landing / "out").symlink_to(elsewhere)
    (real_landing / "d.csv").symlink_to(elsewhere / "c.csv")
    (real_landing / "e.csv").symlink_to(elsewhere)
    (real_landing / "f.csv").symlink_to(tmp_path / "missing.csv")
    landing = tmp_path / "landing"  # the landing folder itself reached through a link
    landing.symlink_to(real_landing)

    top_in, top_out = matching(landing, "*.csv")
    sub_in, sub_out = matching(landing, "*/*.csv")  # ``**`` does not descend into links

    inside, outside = [*top_in, *sub_in], [*top_out, *sub_out]
    names = {p: p.relative_to(landing).as_posix() for p in [*inside, *outside]}
    assert [names[p] for p in inside] == ["b.csv", "2026-01-01/a.csv", "today/a.csv"]
    assert [names[p] for p in outside] == ["d.csv", "e.csv/c.csv", "out/c.csv"]
    # the verdicts are those of resolving each file whole
    root = Path(os.path.realpath(landing))
    for path in inside:
        assert root in Path(os.path.realpath(path)).parents
    for path in outside:
        assert root not in Path(os.path.realpath(path)).parents

"""Smaller items of issue 16 (problem 8): a table-format result is capped (csv and json are
not), and a memory limit that leaves DuckDB nothing is a configuration error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Prebuilt, cli, one_error_line

pytestmark = pytest.mark.slow


def test_table_format_draws_at_most_a_thousand_rows(prebuilt: Prebuilt) -> None:
    demo = prebuilt.demo().directory
    query = "SELECT range AS n FROM range(5000)"
    code, out, err = cli("--project", demo, "sql", query)
    assert code == 0 and "showing the first 1,000 of 5,000 rows" in err, err
    assert "│ 999 │" in out and "│ 1000 │" not in out
    code, out, _ = cli("--project", demo, "sql", query, "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 5001


@pytest.mark.parametrize("limit", ["0KB", "0%", "8MB", "0MiB"])
def test_a_memory_limit_of_nothing_is_refused(limit: str, tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text(f"targets:\n  dev: {{memory_limit: '{limit}'}}\n")
    code, _, err = cli("--project", tmp_path, "status")
    line = one_error_line(err)
    assert code == 2 and "targets.dev.memory_limit" in line and "16MB" in line, line

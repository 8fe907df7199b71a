"""``lakeshop test``: unit tests of models from the project's tests/*.yml, in memory (no
lakehouse, no landing files): the demo's cases pass, a wrong expected row fails with the
differing rows side by side, and a case that cannot run says why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lakeshop.app import api
from lakeshop.app.models.scaffold import write_examples
from lakeshop.app.project import Project, write_demo_config
from tests.conftest import cli


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_demo_config(tmp_path)
    write_examples(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def case_file(root: Path, name: str, text: str) -> None:
    (root / "tests" / f"{name}.yml").write_text(textwrap.dedent(text).lstrip())


WRONG = """
wrong_cluster:
  model: gold.dim_store_cluster
  inputs:
    gold.dim_store:
      - {store_sk: a, store_id: S1, name: North, channel: Store, country: US}
      - {store_sk: b, store_id: S2, name: South, channel: Store, country: US}
    gold.daily_revenue:
      - {store_id: S1, revenue_base: 10, orders: 1}
      - {store_id: S2, revenue_base: 20, orders: 2}
  expect:
    - {store_id: S1, cluster: "store:large"}
    - {store_id: S2, cluster: "store:large"}
"""


def test_the_demo_model_tests_pass_in_memory(root: Path):
    code, out, err = cli("--project", root, "test")
    assert code == 0, out + err
    assert "3 passed, 0 failed" in out
    assert "passed duckdb gold.net_margin_daily margin_after_returns_and_freight" in out
    code, out, _ = cli("--project", root, "test", "dim_store_cluster")
    assert code == 0 and "1 passed, 0 failed" in out
    assert not (root / "lakehouse").exists()  # nothing written: no warehouse needed


def test_a_wrong_expected_row_fails_with_the_difference_side_by_side(root: Path):
    case_file(root, "wrong", WRONG)
    code, out, _ = cli("--project", root, "test", "gold.dim_store_cluster")
    assert code == 1
    lines = out.splitlines()
    assert any(
        line.startswith("FAILED duckdb gold.dim_store_cluster wrong_cluster (tests/wrong.yml:1)")
        for line in lines
    ), out
    assert (
        "1 row(s) as expected; 1 expected row(s) not returned, 1 returned row(s) not expected"
        in out
    )
    header = next(i for i, line in enumerate(lines) if "expected, not returned" in line)
    assert "│  returned, not expected" in lines[header]
    left, right = lines[header + 2].split("│")
    # S1 was expected large; it is medium (S2 has more revenue)
    assert left.split() == ["S1", "store:large"]
    assert right.split() == ["S1", "store:medium"]
    assert "1 passed, 1 failed" in out


def test_values_compare_by_meaning_not_by_type(root: Path):
    results = api.test_models(Project.load(root), "net_margin_daily")
    assert [r.passed for r in results] == [True, True]
    # an expected 90.5 (float) equals the returned DECIMAL 90.50, 2026-01-05 (date) the DATE
    [first, _] = results
    assert first.matched == 2 and first.columns[:2] == ["sales_date", "store_id"]


def test_a_case_that_cannot_run_says_why(root: Path):
    case_file(
        root,
        "broken",
        """
        missing_input:
          model: gold.dim_store_cluster
          inputs:
            gold.dim_store: []
          expect: []
        unknown_column:
          model: gold.dim_store_cluster
          inputs:
            gold.dim_store: [{store_id: S1, colour: blue}]
            gold.daily_revenue: []
          expect: []
        """,
    )
    results = {r.case.name: r for r in api.test_models(Project.load(root), "dim_store_cluster")}
    assert results["missing_input"].error == (
        "tests/broken.yml:1: case 'missing_input': gold.dim_store_cluster reads "
        "gold.daily_revenue: give its rows under inputs (an empty list for none)"
    )
    error = results["unknown_column"].error or ""
    assert error.startswith("tests/broken.yml:6: gold.dim_store has no column 'colour'")
    assert results["terciles_within_a_channel"].passed


def test_a_case_file_mistake_names_its_line(root: Path):
    case_file(root, "typo", "a_case:\n  model: gold.dim_store_cluster\n  expected: []\n")
    code, _, err = cli("--project", root, "test")
    assert code == 2
    assert "tests/typo.yml:3: unknown key 'expected'" in err


@pytest.mark.spark
def test_the_same_cases_run_on_spark(root: Path):
    case_file(root, "wrong", WRONG)
    code, out, _ = cli("--project", root, "test", "--engine", "spark")
    assert code == 1, out
    assert "passed spark gold.net_margin_daily margin_after_returns_and_freight" in out
    assert "passed spark gold.dim_store_cluster terciles_within_a_channel" in out
    assert "FAILED spark gold.dim_store_cluster wrong_cluster" in out
    assert "3 passed, 1 failed" in out


def test_the_readme_unit_test_passes(root: Path):
    """README's "Your own tables" shows a case of the demo's model: it runs as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Your own tables") :]
    block = section[section.index("```yaml\nmargin_after_returns") + len("```yaml\n") :]
    (root / "tests" / "net_margin_daily.yml").write_text(block[: block.index("```")])
    results = api.test_models(Project.load(root), "net_margin_daily")
    assert [(r.case.name, r.passed, r.error) for r in results] == [
        ("margin_after_returns_and_freight", True, None)
    ]
    assert results[0].matched == 2

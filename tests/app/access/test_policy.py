"""``access.yml``: the demo's example loads; each mistake is one error naming file and setting."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakeshop.app.access.default import DEFAULT, write_default_policy
from lakeshop.app.access.load import load_policy
from lakeshop.core.errors import ConfigError


def _write(
    tmp_path: Path, change: dict[str, object] | None = None, drop: tuple[str, ...] = ()
) -> None:
    policy = yaml.safe_load(DEFAULT.read_text())
    for path, value in (change or {}).items():
        *parents, last = path.split("/")
        node = policy
        for p in parents:
            node = node[p]
        node[last] = value
    for path in drop:
        *parents, last = path.split("/")
        node = policy
        for p in parents:
            node = node[p]
        del node[last]
    (tmp_path / "access.yml").write_text(yaml.safe_dump(policy))


def test_the_example_policy_loads(tmp_path: Path) -> None:
    write_default_policy(tmp_path)
    policy = load_policy(tmp_path)
    assert set(policy.config.roles) == {"analyst", "finance", "store_manager", "engineer", "admin"}
    assert policy.principal("sam").attributes == {"store_id": "S001"}
    assert policy.masks_for("analyst", "gold.dim_customer", "EMAIL") is not None  # any case
    assert policy.masks_for("finance", "gold.dim_customer", "first_name") is None  # lifted
    assert policy.masks_for("finance", "gold.dim_customer", "email") is not None
    assert policy.masks_for("admin", "bronze.customers", "email") is None
    assert policy.role("analyst").grant_for("gold.fact_sales") == "gold.*"
    assert policy.role("analyst").grant_for("silver.orders") is None
    assert policy.role("engineer").grant_for("_system.access") is None
    assert policy.role("engineer").grant_for("bronze.customers") == "bronze"


def test_a_missing_policy_says_where_it_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"access\.yml.*lakeshop demo"):
        load_policy(tmp_path)


@pytest.mark.parametrize(
    ("change", "drop", "message"),
    [
        ({"users/ana/role": "boss"}, (), r"setting 'users\.ana\.role': expected one of the roles"),
        ({"roles/finance/unmasked": ["nmaes"]}, (), r"'roles\.finance\.unmasked'.*found 'nmaes'"),
        ({"masks/email/kind": "scramble"}, (), r"'masks\.email\.kind'"),
        (
            {"masks/email/columns": ["gold.email"]},
            (),
            r"'masks\.email\.columns'.*schema\.table\.column",
        ),
        (
            {"masks/postal_code/sql": "read_text('/etc/passwd')"},
            (),
            r"'masks\.postal_code\.sql'.*read_text\(\) reads files",
        ),
        (
            {"masks/postal_code/sql": "(SELECT max(email) FROM gold.dim_customer)"},
            (),
            r"masks\.postal_code\.sql.*reads a table",
        ),
        (
            {
                "roles/store_manager/row_filters": {
                    "gold.fact_sales": "store_id = $store_id; DROP TABLE x"
                }
            },
            (),
            r"row_filters",
        ),
        ({"roles/analyst/grants": ["gold.fact.sales"]}, (), r"'roles\.analyst\.grants'"),
        ({"roles/analyst/max_rows": 0}, (), r"'roles\.analyst\.max_rows'"),
        ({"roles/analyst/colour": "red"}, (), r"'roles\.analyst\.colour'"),
        (
            {},
            ("users/sam/attributes",),
            r"'users\.sam\.attributes': expected the attribute\(s\) store_id",
        ),
    ],
    ids=[
        "unknown-role",
        "unknown-mask",
        "mask-kind",
        "column-pattern",
        "mask-reads-file",
        "mask-subquery",
        "filter-two-statements",
        "grant-pattern",
        "max-rows",
        "unknown-key",
        "missing-attribute",
    ],
)
def test_each_mistake_names_file_and_setting(
    tmp_path: Path, change: dict[str, object], drop: tuple[str, ...], message: str
) -> None:
    _write(tmp_path, change, drop)
    with pytest.raises(ConfigError, match=message) as caught:
        load_policy(tmp_path)
    assert str(tmp_path / "access.yml") in str(caught.value)

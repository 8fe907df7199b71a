"""lakeshop.yml loading: each mistake is one ConfigError naming the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.app.project import Project, write_demo_config
from lakeshop.core.errors import ConfigError

# (yaml text, key named, words the message must hold)
BAD_CONFIGS = [
    pytest.param(
        "bogus: 1\n",
        "bogus",
        ["a known key", "sources", "found 'bogus'"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        "sources: {nope: {path: x.csv}}\n",
        "sources.nope",
        ["contract's sources", "orders"],
        id="unknown-source",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, format: xls}}\n",
        "sources.orders.format",
        ["expected one of csv, jsonl, parquet, found 'xls'"],
        id="bad-format",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, mapping: {order_number: id}}}\n",
        "sources.orders.mapping.order_number",
        ["fields of source 'orders'", "order_id"],
        id="mapping-key-not-a-field",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, mapping: {order_id: {sql: 'a +* FROM'}}}}\n",
        "sources.orders.mapping.order_id.sql",
        ["SQL expression", "found 'a +* FROM'"],
        id="sql-mapping-does-not-parse",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, mapping: {order_id: {sqll: a}}}}\n",
        "sources.orders.mapping.order_id",
        ["a column name of the export, {const: value} or {sql: expression}"],
        id="mapping-of-no-known-shape",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, mapping: {order_id: {const: [1]}}}}\n",
        "sources.orders.mapping.order_id.const",
        ["a string, an integer", "found [1]"],
        id="const-of-a-list",
    ),
    pytest.param(
        "sources: {orders: {format: csv}}\n", "sources.orders.path", ["required"], id="missing-path"
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, fields: [a]}}\n",
        "sources.orders.fields",
        ["a known key"],
        id="internal-field",
    ),
    pytest.param(
        "sources: {orders: {path: x.csv, options: {delim: ';'}}}\n",
        "sources.orders.options.delim",
        ["did you mean 'delimiter'?"],
        id="misspelt-option",
    ),
    pytest.param(
        "targets: {dev: {root: x\n", "(YAML syntax)", ["valid YAML", "line"], id="bad-yaml"
    ),
    pytest.param("- 1\n- 2\n", "(top level)", ["a mapping of settings"], id="not-a-mapping"),
    pytest.param(
        "default_target: prod\n",
        "default_target",
        ["one of the targets dev", "found 'prod'"],
        id="default-target",
    ),
    pytest.param(
        "targets: {dev: {root: x, rot: y}}\n",
        "targets.dev.rot",
        ["root, catalog", "did you mean 'root'?", "found 'rot'"],
        id="target-unknown-key",
    ),
    pytest.param(
        "targets: {dev: {threads: 0}}\n",
        "targets.dev.threads",
        ["a number >= 1", "found 0"],
        id="threads",
    ),
    pytest.param(
        "targets: {dev: {engine: flink}}\n",
        "targets.dev.engine",
        ["expected one of duckdb, spark", "found 'flink'"],
        id="engine",
    ),
    pytest.param(
        "targets: {dev: 3}\n",
        "targets.dev",
        ["a mapping of settings (root,"],
        id="target-not-a-mapping",
    ),
    pytest.param("targets: {}\n", "targets", ["at least one target"], id="no-targets"),
]

PYDANTIC_WORDS = [
    "Input should",
    "function-after",
    ".str'",
    ".Const",
    ".Expr",
    "extra inputs",
    "Value error",
]


@pytest.mark.parametrize(("text", "key", "words"), BAD_CONFIGS)
def test_a_bad_setting_is_one_line_naming_key_and_expectation(
    tmp_path: Path, text: str, key: str, words: list[str]
):
    (tmp_path / "lakeshop.yml").write_text(text)
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path)
    message = str(info.value)
    assert info.value.key == key
    assert "lakeshop.yml: " in message and f"setting '{key}'" in message
    assert "\n" not in message and "\x1b" not in message
    for w in words:
        assert w in message
    for w in PYDANTIC_WORDS:
        assert w not in message
    assert info.value.exit_code == 2


def test_no_file_means_defaults(tmp_path: Path):
    project = Project.load(tmp_path)
    assert project.target()[0] == "dev"
    assert set(project.sources) >= {"orders", "customers"}


def test_the_demo_config_loads_and_an_unknown_target_names_the_known_ones(tmp_path: Path):
    write_demo_config(tmp_path)
    project = Project.load(tmp_path)
    assert project.config.name == "demo-retailer"
    with pytest.raises(
        ConfigError, match=r"--target.*one of the targets of lakeshop.yml: dev, found 'missing'"
    ):
        project.target("missing")


def test_a_valid_mapping_loads(tmp_path: Path):
    (tmp_path / "lakeshop.yml").write_text(
        "sources:\n  orders:\n    path: 'erp/*.txt'\n    options: {delimiter: ';'}\n"
        "    mapping:\n      order_id: {sql: \"branch || '-' || invoice_no\"}\n"
        "      customer_id: client\n      channel: {const: store}\n"
    )
    orders = Project.load(tmp_path).sources["orders"]
    assert orders.options.delimiter == ";" and set(orders.mapping) == {
        "order_id",
        "customer_id",
        "channel",
    }


def test_a_project_folder_that_does_not_exist_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"setting '--project': expected an existing folder"):
        Project.load(tmp_path / "nowhere")

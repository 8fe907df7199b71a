"""The engine registry: engines by name, their capabilities as data, imported when opened."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from lakeshop.app.project import ENGINE_SETTINGS, Project, write_demo_config
from lakeshop.core.errors import ConfigError
from lakeshop.engines import registry
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.registry import EngineName
from tests.conftest import imported_by


def test_every_name_is_registered_once_with_its_target_settings() -> None:
    assert registry.names() == get_args(EngineName)
    assert list(registry.ENGINES) == list(registry.names())
    assert list(ENGINE_SETTINGS) == list(registry.names())


@pytest.mark.parametrize("name", registry.names())
def test_an_engine_class_declares_the_capabilities_it_is_registered_with(name: str) -> None:
    engine = registry.ENGINES[name].load()
    assert engine.capabilities == registry.capabilities(name)
    assert engine.capabilities.name == name


def test_the_registry_and_the_cli_load_no_engine() -> None:
    code = (
        "import lakeshop.cli.commands; from lakeshop.engines import registry; "
        "registry.capabilities('spark')"
    )
    assert imported_by(code, ("duckdb", "deltalake", "pyarrow", "pyspark")) == []


def test_an_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected one of duckdb, spark, found 'flink'"):
        registry.open_engine("flink", Lakehouse(tmp_path))


def test_the_project_opens_its_target_engine_from_the_registry(tmp_path: Path) -> None:
    write_demo_config(tmp_path)
    with Project.load(tmp_path).engine() as engine:
        assert engine.capabilities == registry.capabilities("duckdb")
        assert engine.fetch("SELECT 42 AS answer").to_pylist() == [{"answer": 42}]

"""The top package: a notebook's names, each imported on first use."""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.version import Version

import lakeshop
from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.datagen import generate
from lakeshop.observe import history, report
from tests.conftest import imported_by


def test_import_lakeshop_loads_no_engine_library() -> None:
    engines = ("duckdb", "deltalake", "pyarrow", "pyspark", "plotly")
    assert imported_by("import lakeshop", engines) == []


def test_the_public_names_are_the_functions_of_their_modules() -> None:
    assert lakeshop.Project is Project
    assert (lakeshop.run, lakeshop.replay, lakeshop.query) == (api.run, api.replay, api.query)
    assert (lakeshop.status, lakeshop.quality) == (api.status, api.quality)
    assert lakeshop.check_alerts is api.check_alerts
    assert lakeshop.history is history.history
    assert lakeshop.report is report.write
    assert lakeshop.generate is generate


def test_every_name_of_all_resolves_and_is_listed() -> None:
    for name in lakeshop.__all__:
        assert getattr(lakeshop, name) is not None, name
    assert set(lakeshop.__all__) == {"__version__", *lakeshop._EXPORTS}
    assert set(lakeshop.__all__) <= set(dir(lakeshop))
    # the installed package's version (from git tags, PEP 440)
    assert lakeshop.__version__ == metadata.version("lakeshop")
    assert Version(lakeshop.__version__) >= Version("0.1.0.dev0")


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lakeshop.nope

"""dashboards/*.yml: the packaged pages load, a mistake names its file and setting, and a
tile's SQL takes the filters' values as literals (never as SQL text)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lakeshop.app.dashboards.load import (
    DEFAULTS,
    load_dashboard,
    load_dashboards,
    write_default_dashboards,
)
from lakeshop.app.dashboards.model import parameters, tile_sql
from lakeshop.core.errors import ConfigError

PAGE = """
title: Mine
filters:
  - {name: dates, kind: date_range, bounds: "SELECT min(d), max(d) FROM gold.t"}
  - {name: channel, kind: choice, options: "SELECT DISTINCT channel FROM gold.t"}
tiles:
  - id: total
    title: Total
    chart: number
    sql: "SELECT sum(x) FROM gold.t WHERE d >= $date_from AND ($channel IS NULL OR channel = $channel)"
"""


def test_the_packaged_pages_load_in_their_order(tmp_path: Path) -> None:
    pages = load_dashboards(tmp_path)  # no dashboards/ folder: the defaults
    assert list(pages) == ["sales", "products", "customers", "payments", "operations", "catalog"]
    assert pages["catalog"].kind == "catalog"
    for page in pages.values():
        given = {p for f in page.filters for p in f.parameters}
        for tile in page.tiles:
            assert tile.parameters <= given


def test_a_project_folder_replaces_the_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "dashboards"
    folder.mkdir()
    (folder / "mine.yml").write_text(PAGE)
    assert list(load_dashboards(tmp_path)) == ["mine"]
    written = write_default_dashboards(tmp_path)
    assert sorted(p.name for p in written.glob("*.yml")) == sorted(
        ["mine.yml", *(p.name for p in DEFAULTS.glob("*.yml"))]
    )
    assert (folder / "mine.yml").read_text() == PAGE  # kept


@pytest.mark.parametrize(
    ("change", "setting", "words"),
    [
        (("chart: number", "chart: pie"), "tiles.0.chart", "'line', 'bar'"),
        (("$channel)", "$chanel)"), "(page)", "$chanel is bound by no filter"),
        (("kind: choice, options", "kind: choice, optons"), "filters.1.optons", "Extra inputs"),
        (("chart: number", "chart: line"), "tiles.0", "needs 'x' and 'y'"),
        (("id: total", "id: Total!"), "tiles.0.id", "is not a name"),
        (("title: Mine", "title: [Mine"), "(YAML syntax)", "valid YAML"),
    ],
)
def test_a_mistake_names_the_file_and_setting(
    tmp_path: Path, change: tuple[str, str], setting: str, words: str
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(PAGE.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_dashboard(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: setting '{setting}'"), message
    assert words in message


def test_filter_values_are_literals(tmp_path: Path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(PAGE)
    page = load_dashboard(path)
    values = parameters(page, {"date_from": "2026-01-02", "channel": "x' OR 1=1 --"})
    assert values == {"date_from": date(2026, 1, 2), "date_to": None, "channel": "x' OR 1=1 --"}
    sql = tile_sql(page.tiles[0], values)
    assert "d >= DATE '2026-01-02'" in sql
    assert "channel = 'x'' OR 1=1 --'" in sql
    unset = tile_sql(page.tiles[0], parameters(page, {}))
    assert "(NULL IS NULL OR channel = NULL)" in unset
    with pytest.raises(ValueError, match="date_from: 'soon' is not a date"):
        parameters(page, {"date_from": "soon"})

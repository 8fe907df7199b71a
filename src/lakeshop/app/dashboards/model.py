"""A dashboard's settings: its filters, its tiles, and a tile's SQL with the filters' values.

A filter binds template parameters: a ``date_range`` filter ``$date_from`` and ``$date_to``
(inclusive dates), a ``choice`` filter ``$<its name>`` (a text value, or NULL for "all"). A
tile's SQL reads the parameters it needs, e.g. ``($channel IS NULL OR channel = $channel)``;
the values become literals (:mod:`lakeshop.core.sqltext`), so a filter's value is never SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lakeshop.core import sqltext

Chart = Literal["line", "bar", "area", "table", "number"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: the parameters of a date_range filter
DATE_PARAMS = ("date_from", "date_to")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"'{value}' is not a name (lower case letters, digits, _)")
    return value


def _sql(value: str) -> str:
    sqltext.Template(value).parameters  # noqa: B018 (raises TemplateError on text that is not SQL)
    return value


class Filter(BaseModel):
    """One filter of a page: a date range, or a choice among values a query lists."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["date_range", "choice"]
    label: str | None = None
    #: choice: a query whose first column lists the values (run as the reader)
    options: str | None = None
    #: date_range: a query giving the lowest and highest date (first row, first two columns)
    bounds: str | None = None
    #: date_range: the range opens this many days before the highest date (0: all of it)
    default_days: int = Field(default=0, ge=0)

    _valid_name = field_validator("name")(_name)

    @model_validator(mode="after")
    def _queries(self) -> Filter:
        if self.kind == "choice" and not self.options:
            raise ValueError("a choice filter needs 'options' (a query listing its values)")
        if self.kind == "date_range" and not self.bounds:
            raise ValueError("a date_range filter needs 'bounds' (a query: lowest, highest date)")
        for text in (self.options, self.bounds):
            if text:
                _sql(text)
        return self

    @property
    def parameters(self) -> tuple[str, ...]:
        return DATE_PARAMS if self.kind == "date_range" else (self.name,)


class Tile(BaseModel):
    """One tile: a query, and how its rows are drawn."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    chart: Chart
    sql: str
    #: line/bar/area: the column along the x axis, the columns drawn, and one trace per value
    #: of ``series`` (optional)
    x: str | None = None
    y: list[str] = []
    series: str | None = None
    #: number: the column shown (default: the first)
    value: str | None = None
    description: str | None = None
    #: columns of the page's grid the tile spans (1 or 2)
    width: int = Field(default=1, ge=1, le=2)

    _valid_id = field_validator("id")(_name)
    _valid_sql = field_validator("sql")(_sql)

    @model_validator(mode="after")
    def _axes(self) -> Tile:
        if self.chart in ("line", "bar", "area") and (not self.x or not self.y):
            raise ValueError(f"a {self.chart} chart needs 'x' and 'y' (columns of its query)")
        return self

    @property
    def parameters(self) -> frozenset[str]:
        return sqltext.Template(self.sql, self.id).parameters


class Dashboard(BaseModel):
    """One page: filters and tiles (``kind: catalog`` is the catalog page, without tiles)."""

    model_config = ConfigDict(extra="forbid")
    title: str
    description: str | None = None
    kind: Literal["tiles", "catalog"] = "tiles"
    #: place in the navigation (lower first)
    order: int = 100
    filters: list[Filter] = []
    tiles: list[Tile] = []

    @model_validator(mode="after")
    def _bound(self) -> Dashboard:
        given = {p for f in self.filters for p in f.parameters}
        ids: set[str] = set()
        for i, tile in enumerate(self.tiles):
            if tile.id in ids:
                raise ValueError(f"tiles.{i}.id: '{tile.id}' is used by another tile")
            ids.add(tile.id)
            unbound = sorted(tile.parameters - given)
            if unbound:
                raise ValueError(
                    f"tiles.{i} ({tile.id}): parameter ${', $'.join(unbound)} is bound by no "
                    f"filter (the page's filters give: {', '.join(sorted(given)) or 'none'})"
                )
        if self.kind == "tiles" and not self.tiles:  # the catalog may have tiles of its own
            raise ValueError("a page of kind 'tiles' needs at least one tile")
        return self

    def tile(self, tile_id: str) -> Tile | None:
        return next((t for t in self.tiles if t.id == tile_id), None)


FilterValue = date | str | None


def parameters(dashboard: Dashboard, given: Mapping[str, str]) -> dict[str, FilterValue]:
    """The filters' parameter values from request arguments (text): dates parsed as ISO
    dates, an empty or missing value NULL (no filter). Raises ``ValueError`` on a bad date."""
    values: dict[str, FilterValue] = {}
    for f in dashboard.filters:
        for param in f.parameters:
            text = (given.get(param) or "").strip()
            if not text:
                values[param] = None
            elif f.kind == "date_range":
                try:
                    values[param] = date.fromisoformat(text)
                except ValueError:
                    raise ValueError(f"{param}: '{text}' is not a date YYYY-MM-DD") from None
            else:
                values[param] = text
    return values


def tile_sql(tile: Tile, values: Mapping[str, FilterValue]) -> str:
    """The tile's SQL with its parameters' values as literals (NULL for an unset filter)."""
    return sqltext.Template(tile.sql, tile.id).render(
        {p: values.get(p) for p in tile.parameters}, unused="ignore"
    )

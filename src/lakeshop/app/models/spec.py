"""A project model's declaration (``models/<name>.yml`` or the SQL file's header block) as
typed settings, validated by pydantic; :mod:`~lakeshop.app.models.loader` names the file and
line of each mistake."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lakeshop.pipeline.model import Action, Expectation, Kind

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"

KindName = Literal["append", "upsert", "scd2", "materialized", "view"]
ActionName = Literal["warn", "drop", "fail", "retry"]


class ExpectationSpec(BaseModel):
    """A named check over the model's rows and what a violation does: ``warn`` (kept,
    counted), ``drop`` (quarantined), ``fail`` (nothing committed), ``retry`` (held in
    quarantine and checked again on every run, until it passes)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    #: a SQL boolean expression over the model's columns (DuckDB dialect); NULL is a violation
    check: str = Field(min_length=1)
    action: ActionName = "drop"

    def expectation(self, origin: str) -> Expectation:
        retry = self.action == "retry"
        action = Action.DROP if retry else Action(self.action)
        return Expectation(self.name, self.check, action, retry, origin)


class ModelSpec(BaseModel):
    """What a model is and how it is kept: every key of a model's YAML."""

    model_config = ConfigDict(extra="forbid")
    #: the schema it is stored in (``gold`` unless said): silver, gold or one of the project's
    schema_: str = Field(default="gold", alias="schema", pattern=NAME)
    kind: KindName
    description: str = ""
    owner: str = ""
    #: the columns that identify a row (upsert, append; scd2: the one business key)
    keys: list[str] = []
    #: orders the versions of a key, latest wins (upsert, scd2)
    sequence: str | None = None
    #: scd2: the name of the surrogate key column it adds
    surrogate_key: str | None = Field(default=None, pattern=NAME)
    #: materialized: the column whose values are recomputed where upstream changes touch them
    incremental_by: str | None = None
    #: per upstream table, a query giving the ``incremental_by`` values its changed rows touch
    touched: dict[str, str] = {}
    #: per upstream table, the expression over its columns giving the value each row feeds
    scope: dict[str, str] = {}
    #: descriptions of the columns
    columns: dict[str, str] = {}
    expectations: list[ExpectationSpec] = []

    @field_validator("keys", "expectations", mode="before")
    @classmethod
    def _no_items(cls, value: Any) -> Any:
        """A key left with only comments under it (``expectations:``) is empty."""
        return [] if value is None else value

    @field_validator("touched", "scope", "columns", mode="before")
    @classmethod
    def _no_entries(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def table_kind(self) -> Kind:
        return Kind(self.kind)

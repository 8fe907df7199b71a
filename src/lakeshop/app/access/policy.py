"""``access.yml``: who may read what, and what they see of it.

A project's access policy is a file beside ``lakeshop.yml``, reviewed like code:

- ``masks``: named column masks (``hash``, ``redact``, ``partial`` or a SQL expression), each
  over column patterns ``schema.table.column`` (``*`` and ``?`` as in file names). A mask
  applies to every role that does not list it under ``unmasked``: a new role sees masked data
  until someone decides otherwise.
- ``roles``: grants (``gold``, ``gold.*``, ``gold.fact_sales``, ``_system.*``, ``*``), the masks
  lifted, row filters (a SQL predicate per table pattern, with ``$attribute`` parameters
  taken from the user), a row cap and a timeout.
- ``users``: each user's role and attributes (e.g. ``store_id``). Their tokens are not here:
  ``lakeshop access token create USER`` keeps only their hashes (see :mod:`.tokens`).

Every mistake is a :class:`~lakeshop.core.errors.ConfigError` naming the file and the setting.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lakeshop.core.errors import ConfigError

ACCESS_FILE = "access.yml"

#: a user attribute's value: what a row filter compares columns with
Attribute = str | int | float | bool


class Mask(BaseModel):
    """One column mask: which columns, and how their values are replaced."""

    model_config = ConfigDict(extra="forbid")
    #: ``schema.table.column`` patterns, e.g. ``"*.*.email"``, ``"gold.dim_customer.phone"``
    columns: list[str] = Field(min_length=1)
    kind: Literal["hash", "redact", "partial", "sql"]
    #: partial: characters kept at the start (and, for an e-mail, its domain) ...
    keep_first: int = Field(default=1, ge=0, le=64)
    #: ... and at the end (not for an e-mail)
    keep_last: int = Field(default=0, ge=0, le=64)
    #: redact: what replaces a non-null value
    replacement: str = "***"
    #: sql: an expression over the table's columns, e.g. ``left(postal_code, 2) || '***'``
    sql: str | None = None

    @field_validator("columns")
    @classmethod
    def _three_parts(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if len(pattern.split(".")) != 3:
                raise ValueError(f"'{pattern}' is not schema.table.column (wildcards allowed)")
        return [p.lower() for p in value]

    def applies_to(self, table: str, column: str) -> bool:
        """Whether the mask covers ``column`` of ``table`` (``schema.table``)."""
        ref = f"{table}.{column}".lower()
        return any(fnmatch.fnmatchcase(ref, p) for p in self.columns)


class Role(BaseModel):
    """What one role may read, and what it sees of it."""

    model_config = ConfigDict(extra="forbid")
    #: ``*``, a schema (``gold``, ``gold.*``), a table (``gold.fact_sales``), wildcards allowed
    grants: list[str] = []
    #: names of masks lifted for this role (``*``: every mask)
    unmasked: list[str] = []
    #: table pattern -> SQL predicate over its columns, with ``$attribute`` of the user
    row_filters: dict[str, str] = {}
    #: at most this many rows per query (more are cut, and the answer says so)
    max_rows: int = Field(default=10_000, ge=1, le=10_000_000)
    #: a query running longer is interrupted
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("grants")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern or len(pattern.split(".")) > 2:
                raise ValueError(f"'{pattern}' is not '*', a schema or schema.table")
        return [p.lower() for p in value]

    def grant_for(self, table: str) -> str | None:
        """The grant letting this role read ``table``, if one does."""
        name = table.lower()
        schema = name.split(".")[0]
        for pattern in self.grants:
            if pattern == "*" or fnmatch.fnmatchcase(name, pattern):
                return pattern
            if "." not in pattern and fnmatch.fnmatchcase(schema, pattern):
                return pattern
        return None

    def filters_for(self, table: str) -> list[tuple[str, str]]:
        """``(pattern, predicate)`` of every row filter covering ``table``."""
        name = table.lower()
        return [(p, sql) for p, sql in self.row_filters.items() if fnmatch.fnmatchcase(name, p)]


class User(BaseModel):
    """A person (or a program) reading the lakehouse."""

    model_config = ConfigDict(extra="forbid")
    role: str
    attributes: dict[str, Attribute] = {}


class AccessConfig(BaseModel):
    """``access.yml`` as typed settings."""

    model_config = ConfigDict(extra="forbid")
    masks: dict[str, Mask] = {}
    roles: dict[str, Role] = Field(min_length=1)
    users: dict[str, User] = {}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, their role and attributes."""

    user: str
    role: str
    attributes: dict[str, Attribute] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """A loaded, checked ``access.yml``."""

    config: AccessConfig
    file: str

    def principal(self, user: str) -> Principal:
        """The user called ``user``, or a :class:`ConfigError` naming the known users."""
        found = self.config.users.get(user)
        if found is None:
            known = ", ".join(sorted(self.config.users)) or "none"
            raise ConfigError("users", f"a user declared in {self.file} (known: {known})", user)
        return Principal(user, found.role, dict(found.attributes))

    def role(self, name: str) -> Role:
        return self.config.roles[name]

    def masks_for(self, role: str, table: str, column: str) -> tuple[str, Mask] | None:
        """The mask applied to ``column`` of ``table`` for ``role`` (the first declared)."""
        lifted = set(self.config.roles[role].unmasked)
        if "*" in lifted:
            return None
        for name, mask in self.config.masks.items():
            if name not in lifted and mask.applies_to(table, column):
                return name, mask
        return None


def policy_path(directory: Path) -> Path:
    return directory / ACCESS_FILE

"""The ``sync`` block of ``lakeshop.yml``: where and what ``lakeshop sync postgres`` ships.

The connection string is never a setting: it is read from the environment variable named by
``sync.postgres.dsn_env``, so that it is never written to a file, a log or ``_system``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DSN_ENV = "LAKESHOP_POSTGRES_DSN"

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class PostgresSync(BaseModel):
    """``sync.postgres``: the PostgreSQL database BI tools read."""

    model_config = ConfigDict(extra="forbid")
    #: the environment variable holding the connection string (``postgresql://user:pw@host/db``
    #: or ``host=… dbname=…``); its value is never logged, shown or stored
    dsn_env: str = Field(default=DEFAULT_DSN_ENV, pattern=_NAME)
    #: the lakehouse schemas shipped (silver is opt-in: add it here)
    schemas: list[str] = ["gold"]
    #: more tables to ship, ``schema.table`` (e.g. one silver table)
    tables: list[str] = []
    #: tables never shipped, ``schema.table``
    exclude: list[str] = []
    #: the PostgreSQL schema of a lakehouse schema (default: the same name)
    schema_map: dict[str, str] = {}
    #: a role of the access policy (``access.yml``): what is shipped is what it reads
    #: through ``lakeshop serve`` (its masks and row filters applied, its grants only)
    role: str | None = None
    #: a user of ``access.yml``: their role, with their attributes in its row filters
    user: str | None = None
    #: the PostgreSQL schema of the business views (``sales_daily`` …); null: no views
    views_schema: str | None = Field(default="bi", pattern=_NAME)
    #: rows per COPY chunk (one Arrow batch rendered at a time)
    batch_rows: int = Field(default=100_000, ge=1)
    #: how long a sync waits for another sync of the same database to finish (seconds)
    lock_timeout_s: float = Field(default=60.0, gt=0)

    def pg_schema(self, schema: str) -> str:
        """The PostgreSQL schema the lakehouse schema ``schema`` is shipped to."""
        return self.schema_map.get(schema, schema)


class SyncConfig(BaseModel):
    """``sync`` in ``lakeshop.yml``."""

    model_config = ConfigDict(extra="forbid")
    postgres: PostgresSync = PostgresSync()
    #: ship to PostgreSQL after every ``lakeshop run`` (a step of the run, alerted on failure)
    after_run: bool = False

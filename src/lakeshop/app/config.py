"""``lakeshop.yml`` as typed settings: targets, engines, orphan keys, credit notes, alerts.

Validated by pydantic when a project loads (:meth:`lakeshop.app.project.Project.load`), which
turns a validation error into one line naming the file, the setting and what was expected.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lakeshop.app.alerts_config import AlertsConfig
from lakeshop.app.ml_config import MlConfig
from lakeshop.app.schedule_config import ScheduleConfig
from lakeshop.app.sync_config import SyncConfig
from lakeshop.core.errors import ConfigError
from lakeshop.engines.registry import EngineName
from lakeshop.pipeline.sources import Source, check_timezone
from lakeshop.retail import contract
from lakeshop.retail.orphans import DEFAULT_HOLD_DAYS, RELATIONS, Orphans, Policy
from lakeshop.retail.settings import RetailSettings

DeltaWriterName = Literal["auto", "spark", "deltalake"]


class SparkSettings(BaseModel):
    """Where the Spark engine runs: local mode by default, a cluster or Spark Connect otherwise."""

    model_config = ConfigDict(extra="forbid")
    #: ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://…`` (ignored with ``connect_url``)
    master: str = "local[2]"
    #: ``sc://host:15002``: a Spark Connect server instead of a driver in this process
    connect_url: str | None = None
    #: any Spark setting, e.g. ``spark.executor.memory: 8g`` (overrides lakeshop's defaults)
    conf: dict[str, str | int | float | bool] = {}
    #: who commits to Delta: ``spark`` (Delta Lake for Spark, as on Databricks), ``deltalake``
    #: (executors write Parquet, the driver commits with deltalake) or ``auto`` (``spark``
    #: when the session has Delta Lake for Spark, else ``deltalake``)
    delta_writer: DeltaWriterName = "auto"


class Target(BaseModel):
    """Where and how a target's tables are kept (dev, ci, staging, prod …)."""

    model_config = ConfigDict(extra="forbid")
    root: str = "lakehouse"
    catalog: str = Field(default="lakeshop", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    schema_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_]*$")
    engine: EngineName = "duckdb"
    spark: SparkSettings = SparkSettings()
    threads: int | None = Field(default=None, ge=1)
    #: DuckDB's memory limit (e.g. "1GB", "60%"): beyond it, joins, sorts and aggregates
    #: spill to ``temp_directory``. The run's footprint is this plus about 1.2 GB at SF 10
    #: (delta-rs, Arrow, Python); the default keeps it under 2 GiB there
    memory_limit: str = Field(default="512MB", pattern=r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*$")
    #: where DuckDB spills (default: a fresh folder under the system's temporary folder)
    temp_directory: str | None = None
    #: a writer lock whose heartbeat is older than this many seconds is taken over
    lock_stale_seconds: float = Field(default=60.0, gt=0)
    #: how long `lakeshop maintain` keeps files no longer referenced (time travel window)
    retention_hours: int = Field(default=168, ge=0)
    #: when ``lakeshop schedule`` runs the target (none: it is not scheduled)
    schedule: ScheduleConfig | None = None
    #: ``development``: every schema prefixed with the user's name (``alice_gold``), no
    #: schedule; ``production``: named explicitly (``--target``), whole runs only, from a
    #: committed project (see lakeshop.app.environments); unset: neither
    mode: Literal["development", "production"] | None = None

    @field_validator("memory_limit")
    @classmethod
    def _some_memory(cls, value: str) -> str:
        """``0KB`` or ``0%`` passes the pattern but leaves DuckDB nothing to work with."""
        found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT])", value)
        if found is not None:
            number, unit = float(found.group(1)), found.group(2)
            scale = {"%": 0.0, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
            if (unit == "%" and number < 1) or (unit != "%" and number * scale < 16 << 20):
                raise ValueError(f"at least 16MB (or 1%) for DuckDB to work in ({value.strip()})")
        return value


PolicyName = Literal["hold", "inferred", "quarantine"]


class OrphansConfig(BaseModel):
    """Rows whose parent has not arrived (retail/orphans.py): how long they wait, in days of
    business time, and per relation (``orders.customer_id``) what becomes of them."""

    model_config = ConfigDict(extra="forbid")
    hold_days: int = Field(default=DEFAULT_HOLD_DAYS, ge=0)
    policy: dict[str, PolicyName] = {}

    def resolve(self, file: str | None = None) -> Orphans:
        """The validated settings: every relation known, every policy allowed for it."""
        for name, given in sorted(self.policy.items()):
            key = f"orphans.policy.{name}"
            relation = RELATIONS.get(name)
            if relation is None:
                close = difflib.get_close_matches(name, list(RELATIONS), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    key, f"a known relation ({', '.join(RELATIONS)}{hint})", name, file
                )
            if Policy(given) not in relation.policies:
                raise ConfigError(
                    key,
                    f"{' or '.join(relation.policies)} (a row without its {relation.field} has "
                    "no business time or dimension to attach it to: it cannot be inferred)",
                    given,
                    file,
                )
        return Orphans(self.hold_days, {k: Policy(v) for k, v in self.policy.items()})


class CreditNotes(BaseModel):
    """Which order lines are credit notes (returns without an original line, not sales)."""

    model_config = ConfigDict(extra="forbid")
    #: a line with a negative quantity is a credit note (false: it fails quantity_positive)
    negative_quantity: bool = True
    #: a line of an order whose id matches this regular expression is a credit note, e.g. '^C'
    order_id_pattern: str | None = None

    @field_validator("order_id_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class ProjectConfig(BaseModel):
    """The contents of ``lakeshop.yml``."""

    model_config = ConfigDict(extra="forbid")
    name: str = "lakeshop"
    landing: str = "landing"
    default_target: str = "dev"
    #: ISO 4217 code of the currency every ``*_base`` amount is in
    base_currency: str = contract.BASE_CURRENCY
    #: the IANA time zone of naive source timestamps (``sources.<name>.timezone`` overrides it)
    timezone: str = "UTC"
    credit_notes: CreditNotes = CreditNotes()
    targets: dict[str, Target] = {"dev": Target()}
    sources: dict[str, Source] = {}
    alerts: AlertsConfig = AlertsConfig()
    orphans: OrphansConfig = OrphansConfig()
    sync: SyncConfig = SyncConfig()
    ml: MlConfig = MlConfig()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @property
    def retail(self) -> RetailSettings:
        """What the retail pipeline's SQL needs of this configuration."""
        return RetailSettings(
            base_currency=self.base_currency,
            credit_note_negative_quantity=self.credit_notes.negative_quantity,
            credit_note_order_id_pattern=self.credit_notes.order_id_pattern,
            timezone=self.timezone,
            source_timezones={n: s.timezone for n, s in self.sources.items() if s.timezone},
        )

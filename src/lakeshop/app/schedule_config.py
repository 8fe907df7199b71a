"""A target's ``schedule:`` in ``lakeshop.yml``: when ``lakeshop schedule`` runs it, and how
it retries, catches up and waits (see :mod:`lakeshop.ops.schedule`); with ``trigger:
continuous``, micro-batches whenever files land (see :mod:`lakeshop.ops.continuous`)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Trigger = Literal["cron", "continuous"]
CatchUp = Literal["none", "once", "each"]
WhenBusy = Literal["wait", "skip"]


class ScheduleConfig(BaseModel):
    """When and how a target runs on its own, e.g. ``{cron: "0 2 * * *", timezone: Europe/Paris}``,
    or ``{trigger: continuous, interval_seconds: 5}``."""

    model_config = ConfigDict(extra="forbid")
    #: ``cron``: at the fires of ``cron``; ``continuous``: a micro-batch whenever landing changes
    trigger: Trigger = "cron"
    #: five fields (minute hour day-of-month month day-of-week), read in ``timezone`` (required
    #: with ``trigger: cron``)
    cron: str | None = None
    #: an IANA time zone (``Europe/Paris``, ``UTC``): required with a cron, so that 02:00 means
    #: one moment
    timezone: str | None = None
    #: ``continuous``: seconds between two looks at the landing folder (a file waits at most
    #: this long, plus ``settle_seconds``, before its micro-batch starts)
    interval_seconds: float = Field(default=2.0, gt=0)
    #: ``continuous``: a change of the landing folder starts a micro-batch once the folder has
    #: stayed the same this long (a file being copied in is not read half-written)
    settle_seconds: float = Field(default=1.0, ge=0)
    #: attempts after a failed one (a table failed, the run could not start)
    retries: int = Field(default=2, ge=0)
    #: seconds before the first retry; doubled for each next one
    backoff_seconds: float = Field(default=60.0, ge=0)
    #: missed fires found at start (the scheduler was down): ``none`` skips them, ``once``
    #: runs once, ``each`` runs once per missed fire, each with the deliveries of its business
    #: day (the day before the fire's date) and earlier
    catch_up: CatchUp = "once"
    #: a fire while another writer holds the target: ``wait`` for it (at most
    #: ``wait_timeout_seconds``) or ``skip`` the fire
    when_busy: WhenBusy = "wait"
    wait_timeout_seconds: float = Field(default=3600.0, gt=0)
    #: a fire started this many seconds after its time or later fires a ``schedule_late`` alert
    late_after_seconds: float = Field(default=900.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone such as Europe/Paris or UTC ({exc})") from exc
        return value

    @model_validator(mode="after")
    def _cron_needs_its_zone(self) -> ScheduleConfig:
        if self.trigger == "cron" and (self.cron is None or self.timezone is None):
            raise ValueError(
                'a cron schedule needs cron and timezone, e.g. {cron: "0 2 * * *", '
                "timezone: Europe/Paris}; or trigger: continuous"
            )
        return self

    def cron_and_zone(self) -> tuple[str, str]:
        """The cron expression and its time zone (a cron schedule has both)."""
        if self.cron is None or self.timezone is None:
            raise ValueError("a continuous schedule has no cron")
        return self.cron, self.timezone

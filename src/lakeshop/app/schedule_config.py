"""A target's ``schedule:`` in ``lakeshop.yml``: when ``lakeshop schedule`` runs it, and how
it retries, catches up and waits (see :mod:`lakeshop.ops.schedule`)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

CatchUp = Literal["none", "once", "each"]
WhenBusy = Literal["wait", "skip"]


class ScheduleConfig(BaseModel):
    """When and how a target runs on its own, e.g. ``{cron: "0 2 * * *", timezone: Europe/Paris}``."""

    model_config = ConfigDict(extra="forbid")
    #: five fields (minute hour day-of-month month day-of-week), read in ``timezone``
    cron: str
    #: an IANA time zone (``Europe/Paris``, ``UTC``): required, so that 02:00 means one moment
    timezone: str
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
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone such as Europe/Paris or UTC ({exc})") from exc
        return value

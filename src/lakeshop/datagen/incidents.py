"""Business incidents injected on chosen days, so that alerts can be shown on real output.

``revenue-drop:YYYY-MM-DD[:channel]`` keeps :data:`REVENUE_DROP_KEEP` of the day's orders
(of every channel, or of the one named): volume and value drop by about 65 %.
``order-outage:YYYY-MM-DD`` keeps :data:`OUTAGE_KEEP` of them (at least one order).
``late-files:YYYY-MM-DD`` delivers the day's order export (:data:`LATE_SOURCES`) one day late:
with the next day's files, or, on the last generated day, under ``<out>/_late/`` (move them
into the landing folder to deliver them).

Every file's modified time is its delivery time: :data:`DELIVERY_OFFSET` seconds after the end
of its business day (a nightly export), :data:`LATE_BY` seconds more when late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .context import DAY, DayContext
from .formats import CHANNELS, BoolArray, IntArray

KINDS = ("revenue-drop", "order-outage", "late-files")
REVENUE_DROP_KEEP = 0.35
OUTAGE_KEEP = 0.01
LATE_SOURCES = ("orders", "order_items", "payments")
DELIVERY_OFFSET = 1800  # 00:30 the next morning
LATE_BY = DAY
LATE_FOLDER = "_late"


@dataclass(frozen=True)
class Incident:
    """One incident: its kind, its business day and, for a revenue drop, an optional channel."""

    kind: str
    day: date
    channel: str | None = None

    @classmethod
    def parse(cls, text: str) -> Incident:
        """``kind:YYYY-MM-DD`` or ``revenue-drop:YYYY-MM-DD:channel``; ValueError otherwise."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or parts[0] not in KINDS:
            raise ValueError(
                f"expected KIND:YYYY-MM-DD with KIND one of {', '.join(KINDS)}, found {text!r}"
            )
        try:
            day = date.fromisoformat(parts[1])
        except ValueError as exc:
            raise ValueError(f"expected a date as YYYY-MM-DD in {text!r} ({exc})") from exc
        channel = parts[2] if len(parts) == 3 else None
        if channel is not None and (parts[0] != "revenue-drop" or channel not in CHANNELS):
            raise ValueError(
                f"only revenue-drop takes a channel, one of {', '.join(CHANNELS)}; found {text!r}"
            )
        return cls(parts[0], day, channel)

    def to_json(self) -> dict[str, object]:
        """The incident as recorded in ``_ledger.json``."""
        entry: dict[str, object] = {"kind": self.kind, "date": self.day.isoformat()}
        if self.kind == "revenue-drop":
            entry |= {"channel": self.channel, "orders_kept": REVENUE_DROP_KEEP}
        elif self.kind == "order-outage":
            entry["orders_kept"] = OUTAGE_KEEP
        else:
            entry |= {"sources": list(LATE_SOURCES), "late_by_hours": LATE_BY // 3600}
        return entry


def check(incidents: list[Incident], start: date, days: int) -> None:
    """ValueError unless every incident falls within the generated days."""
    last = date.fromordinal(start.toordinal() + days - 1)
    for inc in incidents:
        if not start <= inc.day <= last:
            raise ValueError(
                f"incident {inc.kind} on {inc.day} is outside the generated days {start} to {last}"
            )


def order_filter(ctx: DayContext, incidents: list[Incident], channel: IntArray) -> BoolArray | None:
    """Which of the day's new orders (by channel code) survive its incidents; None: all.

    Of each channel hit, ``round(share × orders)`` are kept (at least one order in all).
    """
    keep_share = np.ones(len(channel))
    hit = False
    for inc in incidents:
        if inc.day != ctx.date:
            continue
        if inc.kind == "order-outage":
            keep_share = np.minimum(keep_share, OUTAGE_KEEP)
            hit = True
        elif inc.kind == "revenue-drop":
            mine = (
                np.ones(len(channel), bool)
                if inc.channel is None
                else channel == CHANNELS.index(inc.channel)
            )
            keep_share = np.where(mine, np.minimum(keep_share, REVENUE_DROP_KEEP), keep_share)
            hit = True
    if not hit:
        return None
    # exactly the share of each channel's orders (a random choice of them), drawn from a
    # stream of its own so that the other draws of the day do not depend on incidents
    rng = ctx.rng("incident")
    keep: BoolArray = np.zeros(len(channel), bool)
    for code in range(len(CHANNELS)):
        mine = np.flatnonzero(channel == code)
        if len(mine):
            share = float(keep_share[mine[0]])
            keep[rng.permutation(mine)[: round(share * len(mine))]] = True
    if not keep.any():
        keep[0] = True
    return keep


def delivered_at(ctx: DayContext, source: str, incidents: list[Incident]) -> int:
    """Epoch seconds at which the source's files of the day are delivered (their mtime)."""
    late = any(
        i.kind == "late-files" and i.day == ctx.date and source in LATE_SOURCES for i in incidents
    )
    return ctx.start + DAY + DELIVERY_OFFSET + (LATE_BY if late else 0)


def held_back(ctx: DayContext, source: str, incidents: list[Incident], last_index: int) -> bool:
    """Whether the source's files of the day are still undelivered when the history ends."""
    return ctx.index == last_index and delivered_at(ctx, source, incidents) > (
        ctx.start + DAY + DELIVERY_OFFSET
    )

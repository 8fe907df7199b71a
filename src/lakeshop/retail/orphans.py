"""Orphan keys: rows whose parent (customer, product, store, order) has not arrived.

Each foreign key of the contract is a *relation* (``orders.customer_id``) with a policy:

- ``hold``: the row waits in quarantine, evaluated again every run, until its parent arrives;
- ``inferred``: it waits the same way, but only while its business date is within ``hold_days``
  of the latest business date of the lakehouse (:data:`CLOCK`); past that it enters silver,
  and gold attaches it to an inferred member of the dimension (docs/gold.md);
- ``quarantine``: it is quarantined at once, for good, naming the check it failed.

The window is counted in business time, never on the wall clock: the same files give the
same tables whether they are loaded at once or day by day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from lakeshop.pipeline.model import Expectation, Kind, Table


class Policy(StrEnum):
    """What happens to a row whose parent has not arrived."""

    HOLD = "hold"
    INFERRED = "inferred"
    QUARANTINE = "quarantine"


#: the latest business date of the lakehouse: the latest order time delivered so far
CLOCK = "silver.business_clock"
#: its date column
CLOCK_DATE = "latest_date"
DEFAULT_HOLD_DAYS = 2
EPOCH = "CAST('1900-01-01 00:00:00' AS TIMESTAMP)"


@dataclass(frozen=True)
class Relation:
    """A foreign key of a silver table: ``check`` is its predicate (the parent is known, or the
    key is absent); ``at`` the row's business date as SQL when the relation may be ``inferred``
    (a dimension parent), None when only ``hold`` or ``quarantine`` make sense (an event parent:
    without its order a line has no time, store or customer to attach to)."""

    table: str
    field: str
    check: str
    at: str | None
    default: Policy

    @property
    def name(self) -> str:
        return f"{self.table}.{self.field}"

    @property
    def policies(self) -> tuple[Policy, ...]:
        if self.at is None:
            return (Policy.HOLD, Policy.QUARANTINE)
        return tuple(Policy)


def _known(field: str, parent: str, column: str | None = None) -> str:
    return f"{field} IS NULL OR {field} IN (SELECT {column or field} FROM {parent})"


def _dimension(table: str, field: str, parent: str, at: str) -> Relation:
    return Relation(table, field, _known(field, parent), at, Policy.INFERRED)


def _event(table: str, field: str, check: str) -> Relation:
    return Relation(table, field, check, None, Policy.HOLD)


#: a line's business date is its order's: lines of an order not yet arrived wait for it anyway
ORDER_DATE_OF_LINE = "order_id"

RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in (
        _dimension("orders", "customer_id", "silver.customers", "order_ts"),
        _dimension("orders", "store_id", "silver.stores", "order_ts"),
        _event("order_items", "order_id", _known("order_id", "silver.orders")),
        _dimension("order_items", "product_id", "silver.products", ORDER_DATE_OF_LINE),
        _event("payments", "order_id", _known("order_id", "silver.orders")),
        _event("refunds", "payment_id", _known("payment_id", "silver.payments")),
        _event(
            "returns",
            "order_id",
            # a return without a line number (a credit note's, say) needs its order only
            "order_id IS NULL OR CASE WHEN line_no IS NULL "
            "THEN order_id IN (SELECT order_id FROM silver.orders) "
            "ELSE order_id || '#' || CAST(line_no AS VARCHAR) IN "
            "(SELECT order_id || '#' || CAST(line_no AS VARCHAR) FROM silver.order_items) END",
        ),
        _dimension("inventory", "store_id", "silver.stores", "snapshot_date"),
        _dimension("inventory", "product_id", "silver.products", "snapshot_date"),
        _dimension("clickstream", "customer_id", "silver.customers", "event_ts"),
        _dimension("clickstream", "product_id", "silver.products", "event_ts"),
    )
}


@dataclass(frozen=True)
class Orphans:
    """The orphan-key settings of a project (``orphans:`` in ``lakeshop.yml``), validated."""

    hold_days: int = DEFAULT_HOLD_DAYS
    policy: Mapping[str, Policy] | None = None

    def of(self, relation: str) -> Policy:
        given = (self.policy or {}).get(relation)
        return Policy(given) if given is not None else RELATIONS[relation].default

    def expectation(self, relation: str) -> Expectation:
        """The check of ``relation`` under its policy, named ``<field>_known``."""
        r = RELATIONS[relation]
        name, policy = f"{r.field}_known", self.of(relation)
        if policy is Policy.QUARANTINE:
            return Expectation(name, r.check)
        if policy is Policy.HOLD or r.at is None:
            return Expectation(name, r.check, retry=True)
        return Expectation(name, f"{r.check} OR {self.past_window(r.at)}", retry=True)

    def past_window(self, at: str) -> str:
        """The row's business date is ``hold_days`` or more before the latest business date."""
        if at == ORDER_DATE_OF_LINE:
            return (
                f"order_id IN (SELECT o.order_id FROM silver.orders AS o CROSS JOIN {CLOCK} AS c "
                f"WHERE {_days_before('o.order_ts', f'c.{CLOCK_DATE}')} >= {self.hold_days})"
            )
        latest = f"(SELECT MAX({CLOCK_DATE}) FROM {CLOCK})"
        return f"{_days_before(at, latest)} >= {self.hold_days}"


def _days_before(at: str, latest: str) -> str:
    return f"DATE_DIFF('day', CAST({at} AS DATE), {latest})"


def clock_table(orders_sql: str) -> Table:
    """The latest order time delivered (valid or not), with the file and line that carried it.

    An upsert of one key over every new row of ``bronze.orders``, typed as silver types them
    (``orders_sql``), whose sequence is the order time: the latest wins, so it only moves
    forward, and is the same loaded at once or day by day. A time that does not parse counts
    as 1900-01-01 (never the latest).
    """
    typed = orders_sql
    latest = f"COALESCE(order_ts, {EPOCH})"
    sql = (
        "-- The latest business time of the lakehouse: orphan keys are held for hold_days\n"
        "-- counted back from its date (retail/orphans.py).\n"
        f"SELECT 'orders' AS clock, {latest} AS latest_ts, CAST({latest} AS DATE) AS {CLOCK_DATE},\n"
        "    _source_file, _source_row\n"
        f"FROM (\n{typed}\n) AS o"
    )
    return Table(
        name=CLOCK,
        kind=Kind.UPSERT,
        sql=sql,
        keys=("clock",),
        sequence="latest_ts",
        description="the latest order time delivered: the clock of the orphan-key window",
    )

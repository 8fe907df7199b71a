"""The queries gold's declarations share: which values of a table changed upstream rows touch
(``touched``), for dimension versions, inferred members and months (see :mod:`lakeshop.retail.gold`)."""

from __future__ import annotations

from typing import Any

#: the earliest event time whose dimension version a changed dimension row can alter: a new
#: version from its valid_from on, a version cut short from its (new) valid_to on
CHANGED_FROM = "CASE WHEN d.is_current THEN d.valid_from ELSE d.valid_to END"


def changed_per(rows: str, key: str, dim: str, by: str) -> str:
    """Per ``by`` group of ``rows`` (alias ``x``) joined to the changed rows of ``dim`` on
    ``key``: the earliest time from which a changed version applies, as ``c.changed_from``.

    A row is touched when its time is at or after that: the same as joining every changed
    version with that inequality, but the time comparison follows an equality join on ``by``
    (an inequality between two large inputs is planned as a slow range join).
    """
    cols = ", ".join(f"x.{c}" for c in by.split(", "))
    return (
        f"(SELECT {cols}, MIN({CHANGED_FROM}) AS changed_from FROM {rows} AS x "
        f"INNER JOIN {dim} AS d ON d.{key} = x.{key} GROUP BY {cols}) AS c"
    )


def month(column: str) -> str:
    """The first day of the month of a date column."""
    return f"CAST(DATE_TRUNC('month', {column}) AS DATE)"


def orders_of_changed(dim: str, key: str, at: str = "o.order_ts") -> str:
    """Orders whose dimension version may change with the changed rows of ``dim``."""
    return (
        f"SELECT o.order_id FROM silver.orders AS o INNER JOIN {dim} AS d "
        f"ON d.{key} = o.{key} AND {at} >= {CHANGED_FROM}"
    )


def inferred(rows: str, key: str, records: str) -> str:
    """Keys of changed ``rows`` that ``records`` do not hold: their inferred members change."""
    return (
        f"SELECT x.{key} FROM {rows} AS x WHERE x.{key} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {records} AS r WHERE r.{key} = x.{key})"
    )


def members(key: str, records: str, *referring: str) -> dict[str, Any]:
    """``touched`` and ``scope`` of a dimension with inferred members: a record changes its
    key's rows, a referring row only the inferred member of a key without a record."""
    return {
        "touched": {up: inferred(up, key, records) for up in referring},
        "scope": {up: key for up in (records, *referring)},
    }


def currency(order: str, store: str, base: str) -> str:
    """An order's currency: its own, its store's, else the base currency (docs/gold.md)."""
    return f"COALESCE({order}.currency, {store}.currency, {base})"

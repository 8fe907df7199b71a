"""Builders for the retail expectations, named ``<field>_<check>`` so a reason reads plainly."""

from __future__ import annotations

from collections.abc import Iterable

from lakeshop.core.sqltext import in_list
from lakeshop.pipeline.model import Action, Expectation


def not_null(field: str, raw: bool = False) -> Expectation:
    """The field is present (for typed fields: its text before parsing)."""
    column = f"_raw_{field}" if raw else field
    return Expectation(f"{field}_not_null", f"{column} IS NOT NULL")


def parseable(field: str) -> Expectation:
    """A value that is present parses to the field's type."""
    return Expectation(f"{field}_parseable", f"_raw_{field} IS NULL OR {field} IS NOT NULL")


def required(field: str) -> list[Expectation]:
    """Present and parseable."""
    return [not_null(field, raw=True), parseable(field)]


def positive(field: str) -> Expectation:
    """Strictly positive when present (absence is another expectation's business)."""
    return Expectation(f"{field}_positive", f"{field} IS NULL OR {field} > 0")


def non_negative(field: str) -> Expectation:
    return Expectation(f"{field}_non_negative", f"{field} IS NULL OR {field} >= 0")


def in_domain(field: str, values: Iterable[str]) -> Expectation:
    """One of the enumeration's values when present."""
    return Expectation(f"{field}_in_domain", f"{field} IS NULL OR {field} IN {in_list(values)}")


def rule(
    name: str, predicate: str, action: Action = Action.DROP, retry: bool = False
) -> Expectation:
    """Any other named predicate."""
    return Expectation(name, predicate, action, retry)

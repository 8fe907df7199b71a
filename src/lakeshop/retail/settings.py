"""A project's retail settings (``lakeshop.yml``) and the ``$param`` SQL they fill in.

The table SQL of ``retail/sql`` is written once; where a rule depends on the project (its base
currency, what makes a line a credit note) the SQL names a ``$param`` that
:func:`~lakeshop.retail.sqlfiles.sql_table` replaces with a literal or an expression built
with sqlglot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from lakeshop.retail.contract import BASE_CURRENCY


@dataclass(frozen=True)
class RetailSettings:
    """What the retail SQL needs to know of the project."""

    #: ISO 4217 code every ``*_base`` amount is converted to (rate 1 for itself)
    base_currency: str = BASE_CURRENCY
    #: a line with a negative quantity is a credit note (else it fails ``quantity_positive``)
    credit_note_negative_quantity: bool = True
    #: a line of an order whose id matches this regular expression is a credit note
    credit_note_order_id_pattern: str | None = None
    #: the IANA time zone of naive timestamps (no UTC offset) of every source (``timezone:``)
    timezone: str = "UTC"
    #: per source, its own ``sources.<name>.timezone`` where set
    source_timezones: dict[str, str] = field(default_factory=dict)

    def params(self, source: str | None = None) -> dict[str, exp.Expression]:
        """The ``$param`` values of the retail SQL, as sqlglot expressions; ``$timezone`` is
        that of ``source`` (the silver table's source)."""
        return {
            "base_currency": exp.Literal.string(self.base_currency),
            "credit_note_rule": self.credit_note_rule(),
            "timezone": exp.Literal.string(self.timezone_of(source)),
        }

    def timezone_of(self, source: str | None) -> str:
        """The time zone of ``source``'s naive timestamps: its own, else the project's."""
        return self.source_timezones.get(source or "", self.timezone)

    def credit_note_rule(
        self, quantity: str = "quantity", order_id: str = "order_id"
    ) -> exp.Expression:
        """Whether a line (columns ``quantity``, ``order_id``) is a credit note, never NULL."""
        rules: list[exp.Expression] = []
        if self.credit_note_negative_quantity:
            negative = exp.LT(this=exp.column(quantity), expression=exp.Literal.number(0))
            rules.append(exp.Coalesce(this=negative, expressions=[exp.false()]))
        if self.credit_note_order_id_pattern is not None:
            matches = exp.RegexpLike(
                this=exp.column(order_id),
                expression=exp.Literal.string(self.credit_note_order_id_pattern),
            )
            rules.append(exp.Coalesce(this=matches, expressions=[exp.false()]))
        if not rules:
            return exp.false()
        if len(rules) == 1:
            return rules[0]
        return exp.Paren(this=exp.Or(this=rules[0], expression=rules[1]))

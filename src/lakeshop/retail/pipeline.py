"""The retail pipeline: bronze, silver and gold tables of DESIGN §3, as declarations."""

from __future__ import annotations

from lakeshop.core.sqltext import literal
from lakeshop.pipeline.model import Action, Expectation, Kind, Table
from lakeshop.retail import contract as c
from lakeshop.retail import gold
from lakeshop.retail.expectations import (
    in_domain,
    non_negative,
    not_null,
    parseable,
    positive,
    required,
    rule,
)
from lakeshop.retail.orphans import Orphans, clock_table
from lakeshop.retail.settings import RetailSettings
from lakeshop.retail.sqlfiles import sql_table

EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"

#: enumerations an export may extend with codes of its own: an unknown value keeps its text and
#: is counted (warn); ``values:`` in a source's mapping translates known ones
OPEN = Action.WARN

#: a string names a foreign key (retail/orphans.py), checked under the project's orphan policy
SILVER_EXPECTATIONS: dict[str, list[Expectation | str]] = {
    "customers": [
        not_null("customer_id"),
        rule("email_valid", f"email IS NULL OR regexp_matches(email, {literal(EMAIL_PATTERN)})"),
        in_domain("gender", c.GENDERS),
        in_domain("loyalty_tier", c.LOYALTY_TIERS),
        parseable("birth_date"),
        parseable("created_at"),
        parseable("updated_at"),
    ],
    "products": [
        not_null("product_id"),
        parseable("list_price"),
        positive("list_price"),
        parseable("unit_cost"),
        non_negative("unit_cost"),
        in_domain("currency", c.iso_currencies()),
        parseable("is_active"),
        parseable("updated_at"),
    ],
    "stores": [
        not_null("store_id"),
        in_domain("channel", c.CHANNELS, OPEN),
        in_domain("currency", c.iso_currencies()),
        parseable("opened_on"),
        parseable("updated_at"),
    ],
    "orders": [
        not_null("order_id"),
        # no customer is a guest checkout (gold's guest member), never a quarantine
        "orders.customer_id",
        not_null("store_id"),
        "orders.store_id",
        in_domain("channel", c.CHANNELS, OPEN),
        in_domain("currency", c.iso_currencies()),
        in_domain("status", c.ORDER_STATUSES, OPEN),
        *required("order_ts"),
        parseable("updated_at"),
        parseable("freight_amount"),
        non_negative("freight_amount"),
    ],
    "order_items": [
        not_null("order_id"),
        # a line without a number is numbered when no line of its order (in its delivery) has one
        not_null("line_no"),
        parseable("line_no"),
        "order_items.order_id",
        not_null("product_id"),
        "order_items.product_id",
        *required("quantity"),
        # a credit note's quantity may be negative (a credit note is not a sale, see gold)
        rule(
            "quantity_positive",
            "quantity IS NULL OR quantity > 0 OR (is_credit_note AND quantity <> 0)",
        ),
        *required("unit_price"),
        positive("unit_price"),
        parseable("discount_amount"),
        non_negative("discount_amount"),
        parseable("tax_amount"),
        non_negative("tax_amount"),
        rule(
            "discount_within_line",
            "discount_amount IS NULL OR quantity IS NULL OR unit_price IS NULL "
            "OR discount_amount <= ABS(quantity) * unit_price",
        ),
        in_domain("item_status", c.ITEM_STATUSES, OPEN),
        parseable("shipped_at"),
        parseable("delivered_at"),
        parseable("updated_at"),
        parseable("freight_amount"),
        non_negative("freight_amount"),
    ],
    "payments": [
        not_null("payment_id"),
        not_null("order_id"),
        "payments.order_id",
        *required("amount"),
        positive("amount"),
        in_domain("payment_type", c.PAYMENT_TYPES, OPEN),
        in_domain("card_brand", c.CARD_BRANDS),
        in_domain("currency", c.iso_currencies()),
        in_domain("status", c.PAYMENT_STATUSES, OPEN),
        # a payment without its time takes its order's (gold.fact_payments)
        parseable("transaction_ts"),
        parseable("installments"),
        positive("installments"),
    ],
    "refunds": [
        not_null("refund_id"),
        not_null("payment_id"),
        "refunds.payment_id",
        *required("amount"),
        positive("amount"),
        in_domain("status", c.REFUND_STATUSES, OPEN),
        *required("refund_ts"),
    ],
    "returns": [
        not_null("return_id"),
        not_null("order_id"),
        parseable("line_no"),
        "returns.order_id",
        *required("return_qty"),
        positive("return_qty"),
        *required("return_amount"),
        non_negative("return_amount"),
        *required("returned_at"),
    ],
    "inventory": [
        *required("snapshot_date"),
        not_null("store_id"),
        "inventory.store_id",
        not_null("product_id"),
        "inventory.product_id",
        *required("on_hand_qty"),
        non_negative("on_hand_qty"),
        parseable("reorder_point"),
    ],
    "fx_rates": [
        *required("rate_date"),
        not_null("currency"),
        in_domain("currency", c.iso_currencies()),
        *required("rate_to_base"),
        positive("rate_to_base"),
    ],
    "clickstream": [
        not_null("event_id"),
        not_null("session_id"),
        in_domain("event_type", c.EVENT_TYPES),
        not_null("event_type"),
        in_domain("device", c.DEVICES),
        *required("event_ts"),
        "clickstream.customer_id",
        "clickstream.product_id",
    ],
    "sellers": [
        not_null("seller_id"),
        parseable("updated_at"),
    ],
}

#: entities keep their latest version (upsert by updated_at); events are appended once per key
SILVER_KINDS = {
    "customers": (Kind.UPSERT, "updated_at"),
    "products": (Kind.UPSERT, "updated_at"),
    "stores": (Kind.UPSERT, "updated_at"),
    "orders": (Kind.UPSERT, "updated_at"),
    "order_items": (Kind.UPSERT, "updated_at"),
    "payments": (Kind.APPEND, "transaction_ts"),
    "refunds": (Kind.APPEND, "refund_ts"),
    "returns": (Kind.APPEND, "returned_at"),
    "inventory": (Kind.UPSERT, None),
    "fx_rates": (Kind.UPSERT, None),
    "clickstream": (Kind.APPEND, "event_ts"),
    "sellers": (Kind.UPSERT, "updated_at"),
}


#: entities whose every version is kept (for SCD2 dimensions) before the latest is taken
WITH_HISTORY = ("customers", "products")


def tables(settings: RetailSettings | None = None, orphans: Orphans | None = None) -> list[Table]:
    """Every table of the retail pipeline, for a project's ``settings`` (default: USD base,
    negative quantities are credit notes), foreign keys checked under ``orphans``."""
    settings = settings or RetailSettings()
    policy = orphans or Orphans()
    orders = sql_table("silver.orders", Kind.UPSERT, settings)
    out: list[Table] = [clock_table(orders.sql or "")]
    for source in c.SOURCES.values():
        out.append(Table(name=f"bronze.{source.name}", kind=Kind.INGEST, source=source.name))
        kind, sequence = SILVER_KINDS[source.name]
        checks = tuple(
            policy.expectation(e) if isinstance(e, str) else e
            for e in SILVER_EXPECTATIONS[source.name]
        )
        if source.name in WITH_HISTORY and sequence:
            out.append(
                sql_table(
                    f"silver.{source.name}_history",
                    Kind.APPEND,
                    settings,
                    keys=(*source.keys, sequence),
                    sequence=sequence,
                    expectations=checks,
                )
            )
            checks = ()
        out.append(
            sql_table(
                f"silver.{source.name}",
                kind,
                settings,
                keys=source.keys,
                sequence=sequence,
                expectations=checks,
            )
        )
    return out + gold.tables(settings)

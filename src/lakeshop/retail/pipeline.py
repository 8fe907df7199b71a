"""The retail pipeline: bronze, silver and gold tables of DESIGN §3, as declarations."""

from __future__ import annotations

from lakeshop.core.sqltext import literal
from lakeshop.pipeline.model import Expectation, Kind, Table
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
from lakeshop.retail.sqlfiles import SQL_DIR, sql_table

EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"

#: a string names a foreign key (retail/orphans.py), checked under the project's orphan policy
SILVER_EXPECTATIONS: dict[str, list[Expectation | str]] = {
    "customers": [
        not_null("customer_id"),
        rule(
            "email_valid", f"email IS NOT NULL AND regexp_matches(email, {literal(EMAIL_PATTERN)})"
        ),
        in_domain("gender", c.GENDERS),
        in_domain("loyalty_tier", c.LOYALTY_TIERS),
        parseable("birth_date"),
        parseable("created_at"),
        *required("updated_at"),
    ],
    "products": [
        not_null("product_id"),
        *required("list_price"),
        positive("list_price"),
        parseable("unit_cost"),
        non_negative("unit_cost"),
        in_domain("currency", c.CURRENCIES),
        parseable("is_active"),
        *required("updated_at"),
    ],
    "stores": [
        not_null("store_id"),
        not_null("channel"),
        in_domain("channel", c.CHANNELS),
        not_null("currency"),
        in_domain("currency", c.CURRENCIES),
        parseable("opened_on"),
        parseable("updated_at"),
    ],
    "orders": [
        not_null("order_id"),
        # no customer is a guest checkout (gold's guest member), never a quarantine
        "orders.customer_id",
        not_null("store_id"),
        "orders.store_id",
        in_domain("channel", c.CHANNELS),
        in_domain("currency", c.CURRENCIES),
        in_domain("status", c.ORDER_STATUSES),
        *required("order_ts"),
        parseable("updated_at"),
    ],
    "order_items": [
        not_null("order_id"),
        *required("line_no"),
        "order_items.order_id",
        not_null("product_id"),
        "order_items.product_id",
        *required("quantity"),
        positive("quantity"),
        *required("unit_price"),
        positive("unit_price"),
        parseable("discount_amount"),
        non_negative("discount_amount"),
        parseable("tax_amount"),
        non_negative("tax_amount"),
        rule(
            "discount_within_line",
            "discount_amount IS NULL OR quantity IS NULL OR unit_price IS NULL "
            "OR discount_amount <= quantity * unit_price",
        ),
        in_domain("item_status", c.ITEM_STATUSES),
        parseable("shipped_at"),
        parseable("delivered_at"),
        *required("updated_at"),
    ],
    "payments": [
        not_null("payment_id"),
        not_null("order_id"),
        "payments.order_id",
        *required("amount"),
        positive("amount"),
        in_domain("payment_type", c.PAYMENT_TYPES),
        in_domain("card_brand", c.CARD_BRANDS),
        in_domain("currency", c.CURRENCIES),
        in_domain("status", c.PAYMENT_STATUSES),
        *required("transaction_ts"),
    ],
    "refunds": [
        not_null("refund_id"),
        not_null("payment_id"),
        "refunds.payment_id",
        *required("amount"),
        positive("amount"),
        in_domain("status", c.REFUND_STATUSES),
        *required("refund_ts"),
    ],
    "returns": [
        not_null("return_id"),
        not_null("order_id"),
        *required("line_no"),
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
        in_domain("currency", c.CURRENCIES),
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
}


#: entities whose every version is kept (for SCD2 dimensions) before the latest is taken
WITH_HISTORY = ("customers", "products")


def tables(orphans: Orphans | None = None) -> list[Table]:
    """Every table of the retail pipeline, foreign keys checked under ``orphans``."""
    policy = orphans or Orphans()
    out: list[Table] = [clock_table(SQL_DIR / "silver" / "orders.sql")]
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
                keys=source.keys,
                sequence=sequence,
                expectations=checks,
            )
        )
    return out + gold.tables()

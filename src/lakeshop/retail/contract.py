"""The retail domain contract (DESIGN §3, §5): sources, their fields, keys and enumerations.

Shared by the generator (which writes it) and the pipeline (which reads it); it depends on
neither. Real exports are partial: a source requires only its keys, its amounts and its event
time; every other field is optional. Some fields (freight, sellers, installments) exist in
real retail exports but not in the generated retailer's: the generator's view of the contract
is :data:`GENERATED`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

Format = Literal["csv", "jsonl"]


@dataclass(frozen=True)
class SourceContract:
    """Fields of a source in contract order, which of them identify a row, which are required."""

    name: str
    fields: tuple[str, ...]
    keys: tuple[str, ...]
    required: tuple[str, ...]
    format: Format = "csv"
    #: fields written as JSON numbers (not strings) in JSON-lines files
    json_numbers: tuple[str, ...] = ()
    #: optional fields of real exports that the generated retailer does not write
    not_generated: tuple[str, ...] = ()
    #: whether the generated retailer writes this source at all
    generated: bool = True

    @property
    def default_path(self) -> str:
        ext = "jsonl" if self.format == "jsonl" else "csv"
        return f"{self.name}/{self.name}_*.{ext}"


SOURCES: dict[str, SourceContract] = {
    s.name: s
    for s in [
        SourceContract(
            "customers",
            (
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "gender",
                "birth_date",
                "city",
                "state",
                "postal_code",
                "country",
                "loyalty_tier",
                "created_at",
                "updated_at",
            ),
            ("customer_id",),
            ("customer_id",),
        ),
        SourceContract(
            "products",
            (
                "product_id",
                "sku",
                "name",
                "category",
                "subcategory",
                "brand",
                "list_price",
                "unit_cost",
                "currency",
                "is_active",
                "updated_at",
            ),
            ("product_id",),
            ("product_id",),
        ),
        SourceContract(
            "stores",
            (
                "store_id",
                "name",
                "channel",
                "city",
                "country",
                "currency",
                "opened_on",
                "updated_at",
            ),
            ("store_id",),
            ("store_id",),
        ),
        SourceContract(
            "orders",
            (
                "order_id",
                "customer_id",
                "store_id",
                "channel",
                "order_ts",
                "currency",
                "status",
                "updated_at",
                "freight_amount",
            ),
            ("order_id",),
            ("order_id", "order_ts"),
            not_generated=("freight_amount",),
        ),
        SourceContract(
            "order_items",
            (
                "order_id",
                "line_no",
                "product_id",
                "quantity",
                "unit_price",
                "discount_amount",
                "tax_amount",
                "item_status",
                "shipped_at",
                "delivered_at",
                "updated_at",
                "freight_amount",
                "seller_id",
            ),
            ("order_id", "line_no"),
            ("order_id", "product_id", "quantity", "unit_price"),
            not_generated=("freight_amount", "seller_id"),
        ),
        SourceContract(
            "payments",
            (
                "payment_id",
                "order_id",
                "payment_type",
                "card_brand",
                "amount",
                "currency",
                "status",
                "transaction_ts",
                "installments",
            ),
            ("payment_id",),
            ("payment_id", "order_id", "amount"),
            "jsonl",
            ("amount",),
            not_generated=("installments",),
        ),
        SourceContract(
            "refunds",
            ("refund_id", "payment_id", "amount", "reason", "status", "refund_ts"),
            ("refund_id",),
            ("refund_id", "payment_id", "amount"),
            "jsonl",
            ("amount",),
        ),
        SourceContract(
            "returns",
            (
                "return_id",
                "order_id",
                "line_no",
                "return_qty",
                "return_amount",
                "reason",
                "returned_at",
            ),
            ("return_id",),
            ("return_id", "order_id", "return_qty", "return_amount"),
        ),
        SourceContract(
            "inventory",
            ("snapshot_date", "store_id", "product_id", "on_hand_qty", "reorder_point"),
            ("snapshot_date", "store_id", "product_id"),
            ("snapshot_date", "store_id", "product_id", "on_hand_qty"),
        ),
        SourceContract(
            "fx_rates",
            ("rate_date", "currency", "rate_to_base"),
            ("rate_date", "currency"),
            ("rate_date", "currency", "rate_to_base"),
        ),
        SourceContract(
            "clickstream",
            (
                "event_id",
                "session_id",
                "customer_id",
                "event_type",
                "product_id",
                "event_ts",
                "device",
            ),
            ("event_id",),
            ("event_id", "session_id", "event_type", "event_ts"),
            "jsonl",
        ),
        SourceContract(
            "sellers",
            ("seller_id", "name", "city", "state", "country", "updated_at"),
            ("seller_id",),
            ("seller_id",),
            generated=False,
        ),
    ]
}


def _generated_view(source: SourceContract) -> SourceContract:
    kept = tuple(f for f in source.fields if f not in source.not_generated)
    return replace(source, fields=kept, not_generated=())


#: the contract as the generated retailer writes it (its sources, their fields)
GENERATED: dict[str, SourceContract] = {
    name: _generated_view(s) for name, s in SOURCES.items() if s.generated
}

#: the default base currency of a project (``base_currency`` in lakeshop.yml)
BASE_CURRENCY = "USD"
#: the generated retailer's currencies (a real retailer's may be any of :func:`iso_currencies`)
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
#: ISO 4217 codes that are not money one is paid in: precious metals, bond-market and
#: accounting units, the testing code and "no currency"
NOT_TRANSACTION_CURRENCIES = frozenset(
    {
        "XAD",
        "XAG",
        "XAU",
        "XBA",
        "XBB",
        "XBC",
        "XBD",
        "XDR",
        "XPD",
        "XPT",
        "XSU",
        "XTS",
        "XUA",
        "XXX",
    }
)
CHANNELS = ("store", "online", "marketplace")
GENDERS = ("M", "F", "Other", "Prefer not to say")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
ITEM_STATUSES = ("pending", "shipped", "delivered", "cancelled")
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled")
PAYMENT_TYPES = ("card", "paypal", "gift_card", "bank_transfer")
CARD_BRANDS = ("visa", "mastercard", "amex")
PAYMENT_STATUSES = ("captured", "failed")
REFUND_STATUSES = ("completed", "rejected")
RETURN_REASONS = ("damaged", "wrong_size", "not_as_described", "changed_mind", "late_delivery")
EVENT_TYPES = ("view", "add_to_cart", "checkout", "purchase")
DEVICES = ("desktop", "mobile", "tablet")
AGE_GROUPS = ("18-25", "26-35", "36-45", "46-55", "56-65", "65+")


@cache
def iso_currencies() -> tuple[str, ...]:
    """The ISO 4217 currency codes (from ``pycountry``), without the X-codes of metals, units
    of account, testing and "no currency" (:data:`NOT_TRANSACTION_CURRENCIES`)."""
    import pycountry

    codes = {c.alpha_3 for c in pycountry.currencies}
    return tuple(sorted(codes - NOT_TRANSACTION_CURRENCIES))

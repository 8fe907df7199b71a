"""The retail domain contract (DESIGN §3): sources, their fields, keys and enumerations.

Shared by the generator (which writes it) and the pipeline (which reads it); it depends on
neither.
"""

from __future__ import annotations

from dataclasses import dataclass
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
            ("customer_id", "email", "updated_at"),
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
            ("product_id", "list_price", "updated_at"),
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
            ("store_id", "channel", "currency"),
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
            ),
            ("order_id",),
            ("order_id", "customer_id", "store_id", "order_ts"),
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
            ),
            ("order_id", "line_no"),
            ("order_id", "line_no", "product_id", "quantity", "unit_price"),
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
            ),
            ("payment_id",),
            ("payment_id", "order_id", "amount"),
            "jsonl",
            ("amount",),
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
            ("return_id", "order_id", "line_no"),
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
    ]
}

BASE_CURRENCY = "USD"
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
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

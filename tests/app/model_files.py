"""Model projects for the tests: one model of each kind (and an override) over the built-in
tables, written into a project folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lakeshop.app.models.scaffold import write_examples


def write(root: Path, name: str, sql: str, yml: str | None = None) -> None:
    """``models/<name>.sql`` (and ``.yml``), dedented."""
    folder = root / "models"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sql").write_text(textwrap.dedent(sql).lstrip())
    if yml is not None:
        (folder / f"{name}.yml").write_text(textwrap.dedent(yml).lstrip())


#: the models of :func:`five_kinds` and their kinds
FIVE_KINDS = {
    "gold.paid": "append",
    "gold.order_state": "upsert",
    "gold.tier_history": "scd2",
    "gold.net_margin_daily": "materialized",
    "gold.dim_store_cluster": "materialized",
    "analytics.margin_days": "view",
    "gold.payment_refunds": "materialized",
}


def five_kinds(root: Path) -> None:
    """The demo's two examples, and an append, an upsert, an scd2 and a view model (in a
    schema of the project's own), and an override of a built-in gold table."""
    write_examples(root)
    write(
        root,
        "paid",
        """
        SELECT payment_id, order_id, amount, payment_type, transaction_ts
        FROM silver.payments
        """,
        """
        description: Captured payments, appended once each.
        kind: append
        keys: [payment_id]
        sequence: transaction_ts
        expectations:
          - name: small_amount   # large payments go to review: quarantined
            check: amount < 300
            action: drop
          - name: typed
            check: payment_type IS NOT NULL
            action: warn
        """,
    )
    write(
        root,
        "order_state",
        """
        SELECT order_id, status, channel, updated_at
        FROM silver.orders
        """,
        """
        kind: upsert
        keys: [order_id]
        sequence: updated_at
        expectations:
          - {name: status_known, check: status IS NOT NULL, action: warn}
        """,
    )
    write(
        root,
        "tier_history",
        """
        SELECT customer_id, loyalty_tier, updated_at
        FROM silver.customers_history
        """,
        """
        kind: scd2
        keys: [customer_id]
        sequence: updated_at
        surrogate_key: tier_sk
        """,
    )
    write(
        root,
        "margin_days",
        """
        SELECT sales_date, SUM(net_margin) AS net_margin
        FROM gold.net_margin_daily
        GROUP BY sales_date
        """,
        "kind: view\nschema: analytics\n",
    )
    # a different definition of a built-in table: refunds per payment type, counts only
    write(
        root,
        "payment_refunds",
        """
        -- typed: DuckDB sums BIGINTs to a HUGEINT, Spark to a BIGINT
        SELECT payment_type, COUNT(*) AS payments, CAST(SUM(refund_count) AS BIGINT) AS refunds
        FROM gold.fact_payments
        WHERE payment_type IS NOT NULL
        GROUP BY payment_type
        """,
        "kind: materialized\nkeys: [payment_type]\n",
    )

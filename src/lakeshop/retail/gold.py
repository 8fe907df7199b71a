"""The gold layer (docs/gold.md): dimensions, facts and marts, and how each is maintained."""

from __future__ import annotations

from lakeshop.pipeline.model import Action, Kind, Table
from lakeshop.retail.expectations import rule
from lakeshop.retail.pipeline import sql_table


def tables() -> list[Table]:
    """Every gold table."""
    return [
        sql_table(
            "gold.agg_daily_sales",
            Kind.MATERIALIZED,
            keys=("sales_date", "channel"),
            expectations=(
                rule("sales_date_not_null", "sales_date IS NOT NULL", Action.FAIL),
                rule("revenue_converted", "total_revenue IS NOT NULL", Action.FAIL),
            ),
        ),
    ]

"""The gold layer (docs/gold.md): dimensions, facts and marts, and how each is maintained.

Each incremental table names the column whose values it recomputes (``incremental_by``) and,
per upstream, the query mapping that upstream's changed rows to those values (``touched``;
the upstream's name there means its changed rows only). docs/gold.md's maintenance table says
why each mapping is complete.
"""

from __future__ import annotations

from lakeshop.pipeline.model import Action, Kind, Table
from lakeshop.retail.expectations import rule
from lakeshop.retail.sqlfiles import sql_table

#: the earliest event time whose dimension version a changed dimension row can alter: a new
#: version from its valid_from on, a version cut short from its (new) valid_to on
CHANGED_FROM = "CASE WHEN d.is_current THEN d.valid_from ELSE d.valid_to END"


def _changed_per(rows: str, key: str, dim: str, by: str) -> str:
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


def _month(column: str) -> str:
    """The first day of the month of a date column."""
    return f"CAST(DATE_TRUNC('month', {column}) AS DATE)"


def _orders_of_changed(dim: str, key: str, at: str = "o.order_ts") -> str:
    """Orders whose dimension version may change with the changed rows of ``dim``."""
    return (
        f"SELECT o.order_id FROM silver.orders AS o INNER JOIN {dim} AS d "
        f"ON d.{key} = o.{key} AND {at} >= {CHANGED_FROM}"
    )


def _inferred(rows: str, key: str, records: str) -> str:
    """Keys of changed ``rows`` that ``records`` do not hold: their inferred members change."""
    return (
        f"SELECT x.{key} FROM {rows} AS x WHERE x.{key} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {records} AS r WHERE r.{key} = x.{key})"
    )


def _members(key: str, records: str, *referring: str) -> dict[str, dict[str, str]]:
    """``touched`` and ``scope`` of a dimension with inferred members: a record changes its
    key's rows, a referring row only the inferred member of a key without a record."""
    return {
        "touched": {up: _inferred(up, key, records) for up in referring},
        "scope": {up: key for up in (records, *referring)},
    }


def dimensions() -> list[Table]:
    """Calendar, SCD2 customers and products, stores, and the daily exchange rate."""
    return [
        sql_table("gold.dim_date", Kind.MATERIALIZED, keys=("date_key",)),
        sql_table(
            "gold.dim_customer",
            Kind.SCD2,
            keys=("customer_id",),
            sequence="updated_at",
            surrogate_key="customer_sk",
            **_members("customer_id", "silver.customers_history", "silver.orders"),
        ),
        sql_table(
            "gold.dim_product",
            Kind.SCD2,
            keys=("product_id",),
            sequence="updated_at",
            surrogate_key="product_sk",
            **_members(
                "product_id", "silver.products_history", "silver.order_items", "silver.inventory"
            ),
        ),
        sql_table(
            "gold.dim_store",
            Kind.MATERIALIZED,
            keys=("store_sk",),
            incremental_by="store_sk",
            touched={
                "silver.stores": "SELECT store_id FROM silver.stores",
                "silver.orders": _inferred("silver.orders", "store_id", "silver.stores"),
                "silver.inventory": _inferred("silver.inventory", "store_id", "silver.stores"),
            },
            scope={
                "silver.stores": "store_id",
                "silver.orders": "store_id",
                "silver.inventory": "store_id",
            },
        ),
        sql_table(
            "gold.fx_daily",
            Kind.MATERIALIZED,
            keys=("rate_day", "currency"),
            incremental_by="rate_day",
            touched={
                # a rate changes the days from its date up to the calendar's end (unnested in
                # a query of its own: Spark allows no generator inside a CAST)
                "silver.fx_rates": (
                    "SELECT CAST(ts AS DATE) AS rate_day FROM (SELECT UNNEST(GENERATE_SERIES("
                    "CAST(MIN(rate_date) AS TIMESTAMP), CAST(MAX(rate_date) AS TIMESTAMP) "
                    "+ INTERVAL 366 DAY, INTERVAL 1 DAY)) AS ts FROM silver.fx_rates) AS s"
                ),
            },
        ),
    ]


def facts() -> list[Table]:
    """Sales lines, orders, payments, returns and inventory snapshots."""
    fx_orders = (
        "SELECT o.order_id FROM silver.orders AS o INNER JOIN gold.fx_daily AS f "
        "ON f.currency = o.currency AND f.rate_day = CAST(o.order_ts AS DATE)"
    )
    return [
        sql_table(
            "gold.fact_sales",
            Kind.MATERIALIZED,
            keys=("order_id", "line_no"),
            incremental_by="order_id",
            touched={
                "silver.order_items": "SELECT order_id FROM silver.order_items",
                "silver.orders": "SELECT order_id FROM silver.orders",
                "gold.dim_customer": _orders_of_changed("gold.dim_customer", "customer_id"),
                "gold.dim_product": (
                    "SELECT o.order_id FROM silver.orders AS o INNER JOIN "
                    + _changed_per(
                        "silver.order_items", "product_id", "gold.dim_product", "order_id"
                    )
                    + " ON c.order_id = o.order_id WHERE o.order_ts >= c.changed_from"
                ),
                "gold.dim_store": (
                    "SELECT o.order_id FROM silver.orders AS o "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = o.store_id"
                ),
                "gold.fx_daily": fx_orders,
            },
            scope={"silver.order_items": "order_id", "silver.orders": "order_id"},
            expectations=(
                rule("sales_total_converted", "sales_total_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.fact_orders",
            Kind.MATERIALIZED,
            keys=("order_id",),
            incremental_by="order_id",
            touched={"gold.fact_sales": "SELECT order_id FROM gold.fact_sales"},
            scope={"gold.fact_sales": "order_id"},
            expectations=(
                rule(
                    "completion_status_valid",
                    "completion_status IN ('Completed', 'In progress', 'Cancelled')",
                    Action.FAIL,
                ),
            ),
        ),
        sql_table(
            "gold.fact_payments",
            Kind.MATERIALIZED,
            keys=("payment_id",),
            incremental_by="payment_id",
            touched={
                "silver.payments": "SELECT payment_id FROM silver.payments",
                "silver.refunds": "SELECT payment_id FROM silver.refunds",
                "silver.orders": (
                    "SELECT p.payment_id FROM silver.payments AS p "
                    "INNER JOIN silver.orders AS o ON o.order_id = p.order_id"
                ),
                "gold.dim_customer": (
                    "SELECT p.payment_id FROM silver.payments AS p INNER JOIN "
                    + _changed_per("silver.orders", "customer_id", "gold.dim_customer", "order_id")
                    + " ON c.order_id = p.order_id WHERE p.transaction_ts >= c.changed_from"
                ),
                "gold.fx_daily": (
                    "SELECT p.payment_id FROM silver.payments AS p INNER JOIN gold.fx_daily AS f "
                    "ON f.currency = p.currency AND f.rate_day = CAST(p.transaction_ts AS DATE)"
                ),
            },
            scope={"silver.payments": "payment_id", "silver.refunds": "payment_id"},
        ),
        sql_table(
            "gold.fact_returns",
            Kind.MATERIALIZED,
            keys=("return_id",),
            incremental_by="return_id",
            touched={
                "silver.returns": "SELECT return_id FROM silver.returns",
                "silver.order_items": (
                    "SELECT r.return_id FROM silver.returns AS r INNER JOIN silver.order_items AS i "
                    "ON i.order_id = r.order_id AND i.line_no = r.line_no"
                ),
                "silver.orders": (
                    "SELECT r.return_id FROM silver.returns AS r "
                    "INNER JOIN silver.orders AS o ON o.order_id = r.order_id"
                ),
                "gold.dim_customer": (
                    "SELECT r.return_id FROM silver.returns AS r INNER JOIN "
                    + _changed_per("silver.orders", "customer_id", "gold.dim_customer", "order_id")
                    + " ON c.order_id = r.order_id WHERE r.returned_at >= c.changed_from"
                ),
                "gold.dim_product": (
                    "SELECT r.return_id FROM silver.returns AS r INNER JOIN "
                    + _changed_per(
                        "silver.order_items", "product_id", "gold.dim_product", "order_id, line_no"
                    )
                    + " ON c.order_id = r.order_id AND c.line_no = r.line_no "
                    "WHERE r.returned_at >= c.changed_from"
                ),
                "gold.dim_store": (
                    "SELECT r.return_id FROM silver.returns AS r "
                    "INNER JOIN silver.orders AS o ON o.order_id = r.order_id "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = o.store_id"
                ),
                "gold.fx_daily": (
                    "SELECT r.return_id FROM silver.returns AS r "
                    "INNER JOIN silver.orders AS o ON o.order_id = r.order_id "
                    "INNER JOIN gold.fx_daily AS f ON f.currency = o.currency "
                    "AND f.rate_day = CAST(r.returned_at AS DATE)"
                ),
            },
        ),
        sql_table(
            "gold.fact_inventory",
            Kind.MATERIALIZED,
            keys=("snapshot_date", "store_id", "product_id"),
            incremental_by="snapshot_date",
            touched={
                "silver.inventory": "SELECT snapshot_date FROM silver.inventory",
                "gold.dim_product": (
                    "SELECT DISTINCT v.snapshot_date FROM silver.inventory AS v "
                    "INNER JOIN gold.dim_product AS d ON d.product_id = v.product_id "
                    f"AND CAST(v.snapshot_date AS TIMESTAMP) >= {CHANGED_FROM}"
                ),
                "gold.dim_store": (
                    "SELECT DISTINCT v.snapshot_date FROM silver.inventory AS v "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = v.store_id"
                ),
            },
            scope={"silver.inventory": "snapshot_date"},
        ),
    ]


def marts() -> list[Table]:
    """The business marts of docs/gold.md."""
    return [
        sql_table(
            "gold.agg_daily_sales",
            Kind.MATERIALIZED,
            keys=("sales_date", "channel"),
            incremental_by="sales_date",
            touched={
                "gold.fact_sales": "SELECT order_date FROM gold.fact_sales",
                "gold.fact_returns": "SELECT return_date FROM gold.fact_returns",
            },
            scope={"gold.fact_sales": "order_date", "gold.fact_returns": "return_date"},
            expectations=(
                rule("sales_date_not_null", "sales_date IS NOT NULL", Action.FAIL),
                rule("revenue_converted", "total_revenue IS NOT NULL", Action.FAIL),
            ),
        ),
        sql_table(
            "gold.daily_revenue",
            Kind.MATERIALIZED,
            keys=("sales_date", "store_id"),
            incremental_by="sales_date",
            touched={
                "gold.fact_sales": "SELECT order_date FROM gold.fact_sales",
                "gold.dim_store": (
                    "SELECT s.order_date FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = s.store_id"
                ),
            },
            scope={"gold.fact_sales": "order_date"},
            expectations=(
                rule("store_id_not_null", "store_id IS NOT NULL", Action.FAIL),
                rule("revenue_converted", "revenue_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.product_sales_monthly",
            Kind.MATERIALIZED,
            keys=("month", "product_id"),
            incremental_by="month",
            touched={
                "gold.fact_sales": f"SELECT {_month('order_date')} FROM gold.fact_sales",
                # the current category of a changed product shows in every month it sold
                "gold.dim_product": (
                    f"SELECT {_month('s.order_date')} FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_product AS d ON d.product_id = s.product_id"
                ),
            },
            scope={"gold.fact_sales": _month("order_date")},
            expectations=(
                rule("product_id_not_null", "product_id IS NOT NULL", Action.FAIL),
                rule("month_is_first_day", f"month = {_month('month')}", Action.FAIL),
                rule("revenue_converted", "revenue_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.store_performance_monthly",
            Kind.MATERIALIZED,
            keys=("month", "store_id"),
            incremental_by="month",
            touched={
                "gold.fact_sales": f"SELECT {_month('order_date')} FROM gold.fact_sales",
                "gold.fact_returns": f"SELECT {_month('return_date')} FROM gold.fact_returns",
                "gold.dim_store": (
                    f"SELECT {_month('s.order_date')} FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = s.store_id "
                    f"UNION ALL SELECT {_month('r.return_date')} FROM gold.fact_returns AS r "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = r.store_id"
                ),
            },
            scope={
                "gold.fact_sales": _month("order_date"),
                "gold.fact_returns": _month("return_date"),
            },
            expectations=(
                rule("store_id_not_null", "store_id IS NOT NULL", Action.FAIL),
                rule("has_sales_or_returns", "orders > 0 OR return_count > 0", Action.FAIL),
                rule("revenue_converted", "revenue_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.best_sellers_monthly",
            Kind.MATERIALIZED,
            keys=("month", "product_id"),
            incremental_by="month",
            touched={"gold.fact_sales": f"SELECT {_month('order_date')} FROM gold.fact_sales"},
            scope={"gold.fact_sales": _month("order_date")},
            expectations=(
                rule("product_id_not_null", "product_id IS NOT NULL", Action.FAIL),
                rule("ranks_positive", "rank_by_units >= 1 AND rank_by_revenue >= 1", Action.FAIL),
            ),
        ),
        # every row depends on as_of (recency, tenure), which moves with each new day
        sql_table(
            "gold.customer_features",
            Kind.MATERIALIZED,
            keys=("customer_id",),
            expectations=(
                rule("customer_id_not_null", "customer_id IS NOT NULL", Action.FAIL),
                rule(
                    "recency_within_tenure", "recency_days BETWEEN 0 AND tenure_days", Action.FAIL
                ),
                rule("frequency_positive", "frequency >= 1", Action.FAIL),
                rule(
                    "return_rate_at_most_1", "return_rate IS NULL OR return_rate <= 1", Action.WARN
                ),
                rule("monetary_converted", "monetary IS NOT NULL", Action.WARN),
            ),
        ),
        # scores are quintiles over all customers: one new order can move anyone's score
        sql_table(
            "gold.customer_value",
            Kind.MATERIALIZED,
            keys=("customer_id",),
            expectations=(
                rule(
                    "scores_1_to_5",
                    "r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5 AND m_score BETWEEN 1 AND 5",
                    Action.FAIL,
                ),
                rule(
                    "rfm_segment_valid",
                    "rfm_segment IN ('Champions', 'Loyal', 'New', 'At risk', 'Lost', 'Potential')",
                    Action.FAIL,
                ),
            ),
        ),
        sql_table(
            "gold.product_returns",
            Kind.MATERIALIZED,
            keys=("product_id",),
            incremental_by="product_id",
            touched={
                "gold.fact_sales": "SELECT product_id FROM gold.fact_sales",
                "gold.fact_returns": "SELECT product_id FROM gold.fact_returns",
            },
            expectations=(
                rule("units_sold_positive", "units_sold >= 1", Action.FAIL),
                rule("return_rate_non_negative", "return_rate >= 0", Action.FAIL),
                rule("returned_at_most_sold", "units_returned <= units_sold", Action.WARN),
            ),
        ),
        sql_table(
            "gold.payment_refunds",
            Kind.MATERIALIZED,
            keys=("payment_type",),
            incremental_by="payment_type",
            touched={"gold.fact_payments": "SELECT payment_type FROM gold.fact_payments"},
            expectations=(
                rule(
                    "refund_rate_0_to_1",
                    "refund_rate IS NULL OR refund_rate BETWEEN 0 AND 1",
                    Action.WARN,
                ),
                rule("captured_converted", "captured_amount_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.web_funnel_daily",
            Kind.MATERIALIZED,
            keys=("event_date",),
            incremental_by="event_date",
            touched={"silver.clickstream": "SELECT CAST(event_ts AS DATE) FROM silver.clickstream"},
            scope={"silver.clickstream": "CAST(event_ts AS DATE)"},
            expectations=(
                rule(
                    "steps_within_sessions",
                    "GREATEST(view_sessions, cart_sessions, checkout_sessions, purchase_sessions)"
                    " <= sessions",
                    Action.FAIL,
                ),
                rule("conversion_rate_0_to_1", "conversion_rate BETWEEN 0 AND 1", Action.FAIL),
            ),
        ),
        # every row depends on as_of (the 30-day window), which moves with each new day
        sql_table(
            "gold.inventory_health",
            Kind.MATERIALIZED,
            keys=("store_id", "product_id"),
            expectations=(
                rule("stock_out_days_0_to_30", "stock_out_days BETWEEN 0 AND 30", Action.FAIL),
                rule("units_sold_30d_non_negative", "units_sold_30d >= 0", Action.FAIL),
                rule(
                    "cover_only_with_sales",
                    "days_of_cover IS NULL OR units_sold_30d > 0",
                    Action.FAIL,
                ),
            ),
        ),
    ]


def tables() -> list[Table]:
    """Every gold table."""
    return dimensions() + facts() + marts()

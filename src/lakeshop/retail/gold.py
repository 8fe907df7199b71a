"""The gold layer (docs/gold.md): dimensions, facts and marts, and how each is maintained.

Each incremental table names the column whose values it recomputes (``incremental_by``) and,
per upstream, the query mapping that upstream's changed rows to those values (``touched``;
the upstream's name there means its changed rows only). docs/gold.md's maintenance table says
why each mapping is complete.
"""

from __future__ import annotations

from functools import partial

from lakeshop.pipeline.model import Action, Kind, Table
from lakeshop.retail.expectations import rule
from lakeshop.retail.settings import RetailSettings
from lakeshop.retail.sqlfiles import sql_table as _sql_table
from lakeshop.retail.touched import (
    CHANGED_FROM,
    changed_per,
    currency,
    inferred,
    members,
    month,
    orders_of_changed,
)


def dimensions(settings: RetailSettings) -> list[Table]:
    """Calendar, SCD2 customers and products, stores, sellers, and the daily exchange rate."""
    sql_table = partial(_sql_table, settings=settings)
    return [
        sql_table("gold.dim_date", Kind.MATERIALIZED, keys=("date_key",)),
        sql_table(
            "gold.dim_customer",
            Kind.SCD2,
            keys=("customer_id",),
            sequence="updated_at",
            surrogate_key="customer_sk",
            **members("customer_id", "silver.customers_history", "silver.orders"),
        ),
        sql_table(
            "gold.dim_product",
            Kind.SCD2,
            keys=("product_id",),
            sequence="updated_at",
            surrogate_key="product_sk",
            **members(
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
                "silver.orders": inferred("silver.orders", "store_id", "silver.stores"),
                "silver.inventory": inferred("silver.inventory", "store_id", "silver.stores"),
            },
            scope={
                "silver.stores": "store_id",
                "silver.orders": "store_id",
                "silver.inventory": "store_id",
            },
        ),
        sql_table("gold.dim_seller", Kind.MATERIALIZED, keys=("seller_sk",)),
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


def facts(settings: RetailSettings) -> list[Table]:
    """Sales lines, orders, payments, returns and inventory snapshots."""
    sql_table = partial(_sql_table, settings=settings)
    base = settings.params()["base_currency"].sql("duckdb")
    fx_orders = (
        "SELECT o.order_id FROM silver.orders AS o "
        "LEFT JOIN gold.dim_store AS ds ON ds.store_id = o.store_id "
        f"INNER JOIN gold.fx_daily AS f ON f.currency = {currency('o', 'ds', base)} "
        "AND f.rate_day = CAST(o.order_ts AS DATE)"
    )
    # a payment's time and currency default to its order's (fact_payments.sql)
    paid_at = "COALESCE(p.transaction_ts, o.order_ts)"
    paid_in = f"COALESCE(p.currency, {currency('o', 'ds', base)})"
    credit_id = "'credit:' || order_id || ':' || CAST(line_no AS VARCHAR)"
    return [
        sql_table(
            "gold.fact_sales",
            Kind.MATERIALIZED,
            keys=("order_id", "line_no"),
            incremental_by="order_id",
            touched={
                "silver.order_items": "SELECT order_id FROM silver.order_items",
                "silver.orders": "SELECT order_id FROM silver.orders",
                "gold.dim_customer": orders_of_changed("gold.dim_customer", "customer_id"),
                "gold.dim_product": (
                    "SELECT o.order_id FROM silver.orders AS o INNER JOIN "
                    + changed_per(
                        "silver.order_items", "product_id", "gold.dim_product", "order_id"
                    )
                    + " ON c.order_id = o.order_id WHERE o.order_ts >= c.changed_from"
                ),
                "gold.dim_store": (
                    "SELECT o.order_id FROM silver.orders AS o "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = o.store_id"
                ),
                "gold.dim_seller": (
                    "SELECT i.order_id FROM silver.order_items AS i "
                    "INNER JOIN gold.dim_seller AS d ON d.seller_id = i.seller_id"
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
            touched={
                "gold.fact_sales": "SELECT order_id FROM gold.fact_sales",
                # the order's own freight
                "silver.orders": "SELECT order_id FROM silver.orders",
            },
            scope={"gold.fact_sales": "order_id", "silver.orders": "order_id"},
            expectations=(
                rule(
                    "completion_status_valid",
                    "completion_status IN ('Completed', 'In progress', 'Cancelled', 'Credit note')",
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
                    + changed_per("silver.orders", "customer_id", "gold.dim_customer", "order_id")
                    + " ON c.order_id = p.order_id "
                    "INNER JOIN silver.orders AS o ON o.order_id = p.order_id "
                    f"WHERE {paid_at} >= c.changed_from"
                ),
                # the currency of a payment without one is its order's store's
                "gold.dim_store": (
                    "SELECT p.payment_id FROM silver.payments AS p "
                    "INNER JOIN silver.orders AS o ON o.order_id = p.order_id "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = o.store_id"
                ),
                "gold.fx_daily": (
                    "SELECT p.payment_id FROM silver.payments AS p "
                    "LEFT JOIN silver.orders AS o ON o.order_id = p.order_id "
                    "LEFT JOIN gold.dim_store AS ds ON ds.store_id = o.store_id "
                    f"INNER JOIN gold.fx_daily AS f ON f.currency = {paid_in} "
                    f"AND f.rate_day = CAST({paid_at} AS DATE)"
                ),
            },
            scope={"silver.payments": "payment_id", "silver.refunds": "payment_id"},
            expectations=(rule("amount_converted", "amount_base IS NOT NULL", Action.WARN),),
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
                    + changed_per("silver.orders", "customer_id", "gold.dim_customer", "order_id")
                    + " ON c.order_id = r.order_id WHERE r.returned_at >= c.changed_from"
                ),
                "gold.dim_product": (
                    "SELECT r.return_id FROM silver.returns AS r INNER JOIN "
                    + changed_per(
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
                    "LEFT JOIN gold.dim_store AS ds ON ds.store_id = o.store_id "
                    f"INNER JOIN gold.fx_daily AS f ON f.currency = {currency('o', 'ds', base)} "
                    "AND f.rate_day = CAST(r.returned_at AS DATE)"
                ),
                # credit notes: every changed line (one that stopped being a credit note
                # loses its return)
                "gold.fact_sales": f"SELECT {credit_id} FROM gold.fact_sales",
            },
            scope={"gold.fact_sales": credit_id},
            expectations=(
                rule("return_amount_converted", "return_amount_base IS NOT NULL", Action.WARN),
            ),
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


def marts(settings: RetailSettings) -> list[Table]:
    """The business marts of docs/gold.md."""
    sql_table = partial(_sql_table, settings=settings)
    return [
        sql_table(
            "gold.agg_daily_sales",
            Kind.MATERIALIZED,
            keys=("sales_date", "channel"),
            incremental_by="sales_date",
            touched={
                "gold.fact_sales": "SELECT order_date FROM gold.fact_sales",
                "gold.fact_returns": "SELECT return_date FROM gold.fact_returns",
                "gold.fact_orders": "SELECT order_date FROM gold.fact_orders",
            },
            scope={
                "gold.fact_sales": "order_date",
                "gold.fact_returns": "return_date",
                "gold.fact_orders": "order_date",
            },
            expectations=(
                rule("sales_date_not_null", "sales_date IS NOT NULL", Action.FAIL),
                # a day with an amount in a currency without a rate: unknown, kept and counted
                rule("revenue_converted", "total_revenue IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.daily_revenue",
            Kind.MATERIALIZED,
            keys=("sales_date", "store_id"),
            incremental_by="sales_date",
            touched={
                "gold.fact_sales": "SELECT order_date FROM gold.fact_sales",
                "gold.fact_returns": "SELECT return_date FROM gold.fact_returns",
                "gold.fact_orders": "SELECT order_date FROM gold.fact_orders",
                "gold.dim_store": (
                    "SELECT s.order_date FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = s.store_id "
                    "UNION ALL SELECT r.return_date FROM gold.fact_returns AS r "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = r.store_id"
                ),
            },
            scope={
                "gold.fact_sales": "order_date",
                "gold.fact_returns": "return_date",
                "gold.fact_orders": "order_date",
            },
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
                "gold.fact_sales": f"SELECT {month('order_date')} FROM gold.fact_sales",
                # the current category of a changed product shows in every month it sold
                "gold.dim_product": (
                    f"SELECT {month('s.order_date')} FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_product AS d ON d.product_id = s.product_id"
                ),
            },
            scope={"gold.fact_sales": month("order_date")},
            expectations=(
                rule("product_id_not_null", "product_id IS NOT NULL", Action.FAIL),
                rule("month_is_first_day", f"month = {month('month')}", Action.FAIL),
                rule("revenue_converted", "revenue_base IS NOT NULL", Action.WARN),
            ),
        ),
        sql_table(
            "gold.store_performance_monthly",
            Kind.MATERIALIZED,
            keys=("month", "store_id"),
            incremental_by="month",
            touched={
                "gold.fact_sales": f"SELECT {month('order_date')} FROM gold.fact_sales",
                "gold.fact_returns": f"SELECT {month('return_date')} FROM gold.fact_returns",
                "gold.fact_orders": f"SELECT {month('order_date')} FROM gold.fact_orders",
                "gold.dim_store": (
                    f"SELECT {month('s.order_date')} FROM gold.fact_sales AS s "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = s.store_id "
                    f"UNION ALL SELECT {month('r.return_date')} FROM gold.fact_returns AS r "
                    "INNER JOIN gold.dim_store AS d ON d.store_id = r.store_id"
                ),
            },
            scope={
                "gold.fact_sales": month("order_date"),
                "gold.fact_returns": month("return_date"),
                "gold.fact_orders": month("order_date"),
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
            touched={"gold.fact_sales": f"SELECT {month('order_date')} FROM gold.fact_sales"},
            scope={"gold.fact_sales": month("order_date")},
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


def tables(settings: RetailSettings | None = None) -> list[Table]:
    """Every gold table, for a project's ``settings``."""
    settings = settings or RetailSettings()
    return dimensions(settings) + facts(settings) + marts(settings)

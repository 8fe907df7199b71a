-- Monthly performance per store (docs/gold.md): revenue lines by order month, returns by return
-- month for orders of the store (credit notes included); a (month, store) with returns but no
-- sales has zero sales. net_revenue = revenue_base - returned_amount_base; freight from the
-- orders of the month.
-- avg_order_value is ROUND(revenue_base / orders, 2) half away from zero, computed exactly in
-- integer cents: ROUND(n / d) = SIGN(n) * FLOOR((2|n| + d) / 2d), the floor taken with MOD so
-- that no DOUBLE rounding is involved; NULL when there are no orders.
WITH sales AS (
    SELECT
        CAST(DATE_TRUNC('month', order_date) AS DATE) AS month,
        store_id,
        -- a line without an exchange rate makes the month's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base,
        COUNT(DISTINCT order_id) AS orders,
        SUM(quantity) AS units,
        COUNT(DISTINCT customer_id) AS customers,
        COUNT(*) - COUNT(sales_total_base) AS unconverted_lines
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY CAST(DATE_TRUNC('month', order_date) AS DATE), store_id
),
freight AS (
    SELECT
        CAST(DATE_TRUNC('month', order_date) AS DATE) AS month,
        store_id,
        CASE
            WHEN COUNT(*) = COUNT(freight_total_base)
                THEN CAST(SUM(freight_total_base) AS DECIMAL(18, 2))
        END AS freight_revenue
    FROM gold.fact_orders
    WHERE revenue_line_count > 0
    GROUP BY CAST(DATE_TRUNC('month', order_date) AS DATE), store_id
),
returned AS (
    SELECT
        CAST(DATE_TRUNC('month', return_date) AS DATE) AS month,
        store_id,
        COUNT(*) AS return_count,
        CASE
            WHEN COUNT(*) = COUNT(return_amount_base)
                THEN CAST(SUM(return_amount_base) AS DECIMAL(18, 2))
        END AS returned_amount_base
    FROM gold.fact_returns
    WHERE store_id IS NOT NULL
    GROUP BY CAST(DATE_TRUNC('month', return_date) AS DATE), store_id
),
combined AS (
    SELECT
        COALESCE(s.month, rt.month) AS month,
        COALESCE(s.store_id, rt.store_id) AS store_id,
        CASE
            WHEN s.month IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE s.revenue_base
        END AS revenue_base,
        CAST(COALESCE(s.orders, 0) AS BIGINT) AS orders,
        CAST(COALESCE(s.units, 0) AS BIGINT) AS units,
        CAST(COALESCE(s.customers, 0) AS BIGINT) AS customers,
        CAST(COALESCE(rt.return_count, 0) AS BIGINT) AS return_count,
        CASE
            WHEN rt.month IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE rt.returned_amount_base
        END AS returned_amount_base,
        CAST(s.revenue_base * 100 AS BIGINT) AS revenue_cents,
        CAST(COALESCE(s.unconverted_lines, 0) AS BIGINT) AS unconverted_lines
    FROM sales AS s
    FULL OUTER JOIN returned AS rt
        ON rt.month = s.month AND rt.store_id = s.store_id
)
SELECT
    c.month,
    c.store_id,
    ds.channel,
    c.revenue_base,
    c.orders,
    c.units,
    c.customers,
    CAST(CASE
        WHEN c.orders > 0 THEN CAST(
            SIGN(c.revenue_cents) * (
                (2 * ABS(c.revenue_cents) + c.orders)
                - MOD(2 * ABS(c.revenue_cents) + c.orders, 2 * c.orders)
            ) / (2 * c.orders) AS BIGINT
        ) * 0.01
    END AS DECIMAL(18, 2)) AS avg_order_value,
    c.return_count,
    c.returned_amount_base,
    CAST(c.revenue_base - c.returned_amount_base AS DECIMAL(18, 2)) AS net_revenue,
    CASE
        WHEN f.month IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE f.freight_revenue
    END AS freight_revenue,
    c.unconverted_lines
FROM combined AS c
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = c.store_id
LEFT JOIN freight AS f
    ON f.month = c.month AND f.store_id = c.store_id

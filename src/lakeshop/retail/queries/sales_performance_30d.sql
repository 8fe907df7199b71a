-- Revenue lines by channel over the 30 days ending at as_of, against the 30 days before.
-- Current window: order_date > as_of - 30 AND order_date <= as_of; previous window: the 30 days
-- before it. revenue_change_pct = (revenue - previous) / previous * 100, NULL when previous is 0.
-- A channel with sales in either window has a row (zeros where it had none).
WITH lines AS (
    SELECT
        channel,
        order_id,
        customer_id,
        quantity,
        sales_total_base,
        order_date > $as_of - 30 AS is_current
    FROM gold.fact_sales
    WHERE
        is_revenue
        AND order_date > $as_of - 60
        AND order_date <= $as_of
),
current_window AS (
    SELECT
        channel,
        -- a line without an exchange rate makes the revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base,
        COUNT(DISTINCT order_id) AS orders,
        CAST(SUM(quantity) AS BIGINT) AS units,
        COUNT(DISTINCT customer_id) AS customers
    FROM lines
    WHERE is_current
    GROUP BY channel
),
previous_window AS (
    SELECT
        channel,
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base
    FROM lines
    WHERE NOT is_current
    GROUP BY channel
),
joined AS (
    SELECT
        COALESCE(c.channel, p.channel) AS channel,
        CASE
            WHEN c.channel IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE c.revenue_base
        END AS revenue_base,
        COALESCE(c.orders, 0) AS orders,
        COALESCE(c.units, 0) AS units,
        COALESCE(c.customers, 0) AS customers,
        CASE
            WHEN p.channel IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE p.revenue_base
        END AS previous_revenue_base
    FROM current_window AS c
    FULL OUTER JOIN previous_window AS p ON p.channel = c.channel
)
SELECT
    channel,
    revenue_base,
    orders,
    units,
    customers,
    CAST(CASE
        WHEN orders = 0 THEN 0 ELSE ROUND(revenue_base / orders, 2)
    END AS DECIMAL(18, 2)) AS avg_order_value,
    CAST(CASE
        WHEN SUM(revenue_base) OVER () <> 0
            THEN ROUND(revenue_base / SUM(revenue_base) OVER (), 4)
    END AS DECIMAL(18, 4)) AS share_of_revenue,
    previous_revenue_base,
    CAST(CASE
        WHEN previous_revenue_base <> 0
            THEN ROUND((revenue_base - previous_revenue_base) / previous_revenue_base * 100, 2)
    END AS DECIMAL(18, 2)) AS revenue_change_pct
FROM joined
ORDER BY revenue_base DESC NULLS LAST, channel

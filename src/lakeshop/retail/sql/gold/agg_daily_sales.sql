-- Daily sales by channel, in the base currency (DESIGN §3).
-- Line sales_total = quantity * unit_price - discount_amount + tax_amount; cancelled lines are
-- not revenue. Each line is converted at the rate of its order date (or the latest earlier
-- rate) and rounded to the cent; revenue is the sum of those converted lines.
WITH order_days AS (
    SELECT DISTINCT CAST(order_ts AS DATE) AS order_date, currency
    FROM silver.orders
),
day_rates AS (
    SELECT order_date, currency, rate_to_base
    FROM (
        SELECT
            d.order_date,
            d.currency,
            r.rate_to_base,
            ROW_NUMBER() OVER (
                PARTITION BY d.order_date, d.currency ORDER BY r.rate_date DESC
            ) AS rn
        FROM order_days AS d
        INNER JOIN silver.fx_rates AS r
            ON r.currency = d.currency AND r.rate_date <= d.order_date
    ) AS ranked
    WHERE rn = 1
),
lines AS (
    SELECT
        CAST(o.order_ts AS DATE) AS sales_date,
        o.channel,
        o.order_id,
        o.customer_id,
        i.quantity,
        CAST(ROUND(
            (i.quantity * i.unit_price - i.discount_amount + i.tax_amount) * r.rate_to_base, 2
        ) AS DECIMAL(18, 2)) AS sales_total_base
    FROM silver.order_items AS i
    INNER JOIN silver.orders AS o ON o.order_id = i.order_id
    LEFT JOIN day_rates AS r
        ON r.order_date = CAST(o.order_ts AS DATE) AND r.currency = o.currency
    WHERE i.item_status <> 'cancelled'
),
sales AS (
    SELECT
        sales_date,
        channel,
        -- a line without an exchange rate makes the day's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS total_revenue,
        CAST(SUM(quantity) AS BIGINT) AS total_quantity,
        COUNT(DISTINCT order_id) AS total_orders,
        COUNT(DISTINCT customer_id) AS unique_customers
    FROM lines
    GROUP BY sales_date, channel
),
returned AS (
    SELECT
        CAST(rt.returned_at AS DATE) AS sales_date,
        o.channel,
        COUNT(*) AS return_count
    FROM silver.returns AS rt
    INNER JOIN silver.orders AS o ON o.order_id = rt.order_id
    GROUP BY CAST(rt.returned_at AS DATE), o.channel
)
SELECT
    COALESCE(s.sales_date, rt.sales_date) AS sales_date,
    COALESCE(s.channel, rt.channel) AS channel,
    CASE
        WHEN s.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE s.total_revenue
    END AS total_revenue,
    COALESCE(s.total_quantity, 0) AS total_quantity,
    COALESCE(s.total_orders, 0) AS total_orders,
    COALESCE(s.unique_customers, 0) AS unique_customers,
    COALESCE(rt.return_count, 0) AS return_count,
    CAST(CASE
        WHEN COALESCE(s.total_orders, 0) = 0 THEN 0
        ELSE ROUND(s.total_revenue / s.total_orders, 2)
    END AS DECIMAL(18, 2)) AS avg_order_value
FROM sales AS s
FULL OUTER JOIN returned AS rt
    ON rt.sales_date = s.sales_date AND rt.channel = s.channel

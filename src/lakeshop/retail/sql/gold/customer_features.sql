-- Customer features (docs/gold.md): one row per customer with a revenue line, as of the latest
-- order date in silver.orders (never the wall clock). Rounding is half away from zero and
-- exact: ROUND(n / d) of integers is SIGN(n) * FLOOR((2|n| + d) / 2d), the floor taken with
-- MOD so that no DOUBLE rounding is involved; avg_basket in cents, return_rate in 1/10000.
WITH as_of AS (
    SELECT MAX(CAST(order_ts AS DATE)) AS as_of
    FROM silver.orders
),
sales AS (
    SELECT
        customer_id,
        MIN(order_date) AS first_order_date,
        MAX(order_date) AS last_order_date,
        COUNT(DISTINCT order_id) AS frequency,
        -- a line without an exchange rate makes the customer's total unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS monetary,
        SUM(quantity) AS units
    FROM gold.fact_sales
    WHERE is_revenue AND customer_id IS NOT NULL
    GROUP BY customer_id
),
returned AS (
    SELECT
        customer_id,
        SUM(return_qty) AS returned_units
    FROM gold.fact_returns
    GROUP BY customer_id
),
categories AS (
    SELECT
        s.customer_id,
        dp.category,
        SUM(s.sales_total_base) AS category_base
    FROM gold.fact_sales AS s
    INNER JOIN gold.dim_product AS dp
        ON dp.product_id = s.product_id AND dp.is_current
    WHERE s.is_revenue AND dp.category IS NOT NULL
    GROUP BY s.customer_id, dp.category
),
favourite AS (
    SELECT
        customer_id,
        category
    FROM (
        SELECT
            customer_id,
            category,
            ROW_NUMBER() OVER (
                PARTITION BY customer_id ORDER BY category_base DESC NULLS LAST, category
            ) AS category_rank
        FROM categories
    ) AS ranked
    WHERE category_rank = 1
),
features AS (
    SELECT
        s.customer_id,
        s.first_order_date,
        s.last_order_date,
        CAST(DATE_DIFF('day', s.last_order_date, a.as_of) AS BIGINT) AS recency_days,
        CAST(s.frequency AS BIGINT) AS frequency,
        s.monetary,
        CAST(s.monetary * 100 AS BIGINT) AS monetary_cents,
        CAST(DATE_DIFF('day', s.first_order_date, a.as_of) AS BIGINT) AS tenure_days,
        CAST(s.units AS BIGINT) AS units,
        CAST(COALESCE(r.returned_units, 0) AS BIGINT) AS returned_units,
        f.category AS favourite_category,
        a.as_of
    FROM sales AS s
    CROSS JOIN as_of AS a
    LEFT JOIN returned AS r
        ON r.customer_id = s.customer_id
    LEFT JOIN favourite AS f
        ON f.customer_id = s.customer_id
)
SELECT
    customer_id,
    first_order_date,
    last_order_date,
    recency_days,
    frequency,
    monetary,
    CAST(CASE
        WHEN frequency > 0 THEN CAST(
            SIGN(monetary_cents) * (
                (2 * ABS(monetary_cents) + frequency)
                - MOD(2 * ABS(monetary_cents) + frequency, 2 * frequency)
            ) / (2 * frequency) AS BIGINT
        ) * 0.01
    END AS DECIMAL(18, 2)) AS avg_basket,
    tenure_days,
    units,
    returned_units,
    CAST(CASE
        WHEN units > 0 THEN CAST(
            SIGN(returned_units) * (
                (2 * ABS(returned_units) * 10000 + units)
                - MOD(2 * ABS(returned_units) * 10000 + units, 2 * units)
            ) / (2 * units) AS BIGINT
        ) * 0.0001
    END AS DECIMAL(18, 4)) AS return_rate,
    favourite_category,
    as_of
FROM features

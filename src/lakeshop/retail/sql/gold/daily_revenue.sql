-- Daily revenue per store (docs/gold.md): revenue lines by order date, in the store's currency
-- and in the base currency, with the store's channel and currency; net of the day's returns and
-- credit notes of the store's orders; freight from the orders of the day. A (date, store) with
-- returns but no sales has zero sales.
WITH sales AS (
    SELECT
        order_date AS sales_date,
        store_id,
        CAST(SUM(sales_total) AS DECIMAL(18, 2)) AS revenue_local,
        -- a line without an exchange rate makes the day's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base,
        COUNT(DISTINCT order_id) AS orders,
        SUM(quantity) AS units,
        COUNT(*) - COUNT(sales_total_base) AS unconverted_lines
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY order_date, store_id
),
freight AS (
    SELECT
        order_date AS sales_date,
        store_id,
        CASE
            WHEN COUNT(*) = COUNT(freight_total_base)
                THEN CAST(SUM(freight_total_base) AS DECIMAL(18, 2))
        END AS freight_revenue
    FROM gold.fact_orders
    WHERE revenue_line_count > 0
    GROUP BY order_date, store_id
),
returned AS (
    SELECT
        return_date AS sales_date,
        store_id,
        CASE
            WHEN COUNT(*) = COUNT(return_amount_base)
                THEN CAST(SUM(return_amount_base) AS DECIMAL(18, 2))
        END AS returned_base
    FROM gold.fact_returns
    WHERE store_id IS NOT NULL
    GROUP BY return_date, store_id
),
combined AS (
    SELECT
        COALESCE(s.sales_date, rt.sales_date) AS sales_date,
        COALESCE(s.store_id, rt.store_id) AS store_id,
        COALESCE(s.revenue_local, CAST(0 AS DECIMAL(18, 2))) AS revenue_local,
        CASE
            WHEN s.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE s.revenue_base
        END AS revenue_base,
        CAST(COALESCE(s.orders, 0) AS BIGINT) AS orders,
        CAST(COALESCE(s.units, 0) AS BIGINT) AS units,
        CASE
            WHEN rt.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE rt.returned_base
        END AS returned_base,
        CAST(COALESCE(s.unconverted_lines, 0) AS BIGINT) AS unconverted_lines
    FROM sales AS s
    FULL OUTER JOIN returned AS rt
        ON rt.sales_date = s.sales_date AND rt.store_id = s.store_id
)
SELECT
    c.sales_date,
    c.store_id,
    ds.channel,
    ds.currency,
    c.revenue_local,
    c.revenue_base,
    c.orders,
    c.units,
    CAST(c.revenue_base - c.returned_base AS DECIMAL(18, 2)) AS net_revenue,
    CASE
        WHEN f.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE f.freight_revenue
    END AS freight_revenue,
    c.unconverted_lines
FROM combined AS c
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = c.store_id
LEFT JOIN freight AS f
    ON f.sales_date = c.sales_date AND f.store_id = c.store_id

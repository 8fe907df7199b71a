-- Daily revenue per store (docs/gold.md): revenue lines by order date, in the store's currency
-- and in the base currency, with the store's channel and currency.
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
        SUM(quantity) AS units
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY order_date, store_id
)
SELECT
    s.sales_date,
    s.store_id,
    ds.channel,
    ds.currency,
    s.revenue_local,
    s.revenue_base,
    CAST(s.orders AS BIGINT) AS orders,
    CAST(s.units AS BIGINT) AS units
FROM sales AS s
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = s.store_id

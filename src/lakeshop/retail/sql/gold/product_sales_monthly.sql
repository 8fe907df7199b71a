-- Monthly sales per product (docs/gold.md): revenue lines by order month, with the category of
-- the product's current version.
WITH sales AS (
    SELECT
        CAST(DATE_TRUNC('month', order_date) AS DATE) AS month,
        product_id,
        SUM(quantity) AS units,
        -- a line without an exchange rate makes the month's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base,
        COUNT(DISTINCT order_id) AS orders,
        COUNT(DISTINCT customer_id) AS customers,
        COUNT(*) - COUNT(sales_total_base) AS unconverted_lines
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY CAST(DATE_TRUNC('month', order_date) AS DATE), product_id
)
SELECT
    s.month,
    s.product_id,
    dp.category,
    CAST(s.units AS BIGINT) AS units,
    s.revenue_base,
    CAST(s.orders AS BIGINT) AS orders,
    CAST(s.customers AS BIGINT) AS customers,
    CAST(s.unconverted_lines AS BIGINT) AS unconverted_lines
FROM sales AS s
LEFT JOIN gold.dim_product AS dp
    ON dp.product_id = s.product_id AND dp.is_current

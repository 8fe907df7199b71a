-- Best sellers of each month (docs/gold.md): every product sold in the month (revenue lines by
-- order month), ranked by units and by revenue in the base currency; ties share a rank.
WITH sales AS (
    SELECT
        CAST(DATE_TRUNC('month', order_date) AS DATE) AS month,
        product_id,
        SUM(quantity) AS units,
        -- a line without an exchange rate makes the month's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY CAST(DATE_TRUNC('month', order_date) AS DATE), product_id
)
SELECT
    month,
    product_id,
    CAST(units AS BIGINT) AS units,
    revenue_base,
    CAST(RANK() OVER (PARTITION BY month ORDER BY units DESC) AS BIGINT) AS rank_by_units,
    CAST(
        RANK() OVER (PARTITION BY month ORDER BY revenue_base DESC NULLS LAST) AS BIGINT
    ) AS rank_by_revenue
FROM sales

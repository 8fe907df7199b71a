-- The ten products with the most revenue (base currency, revenue lines) over the $days days
-- ending at $as_of, with their units; product_id breaks ties.
WITH by_product AS (
    SELECT
        product_id,
        SUM(sales_total_base) AS revenue,
        SUM(quantity) AS units
    FROM gold.fact_sales
    WHERE is_revenue AND order_date > $as_of - $days AND order_date <= $as_of
    GROUP BY product_id
)
SELECT
    b.product_id,
    COALESCE(p.name, b.product_id) AS product_name,
    CAST(b.revenue AS DOUBLE) AS revenue,
    CAST(b.units AS BIGINT) AS units
FROM by_product AS b
LEFT JOIN gold.dim_product AS p
    ON p.product_id = b.product_id AND p.is_current
ORDER BY b.revenue DESC NULLS LAST, b.product_id
LIMIT 10

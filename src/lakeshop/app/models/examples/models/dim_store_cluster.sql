-- One row per store: its cluster by channel and by size (tercile of its revenue over the
-- stores of its channel), for store-level comparisons and planning.
WITH revenue AS (
    SELECT store_id, SUM(revenue_base) AS revenue_base, SUM(orders) AS orders
    FROM gold.daily_revenue
    GROUP BY store_id
),
ranked AS (
    SELECT
        d.store_id,
        d.name,
        d.channel,
        d.country,
        COALESCE(r.revenue_base, 0) AS revenue_base,
        COALESCE(r.orders, 0) AS orders,
        NTILE(3) OVER (
            PARTITION BY d.channel ORDER BY COALESCE(r.revenue_base, 0) DESC, d.store_id
        ) AS size_tier
    FROM gold.dim_store AS d
    LEFT JOIN revenue AS r ON r.store_id = d.store_id
    WHERE d.store_sk <> '-1'
)
SELECT
    store_id,
    name,
    channel,
    country,
    CAST(revenue_base AS DECIMAL(18, 2)) AS revenue_base,
    CAST(orders AS BIGINT) AS orders,
    COALESCE(LOWER(channel), 'unknown') || ':' || CASE size_tier WHEN 1 THEN 'large' WHEN 2 THEN 'medium' ELSE 'small' END
        AS cluster
FROM ranked

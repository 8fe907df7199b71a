-- Orders of the as-of day (orders with a revenue line, gold.agg_daily_sales, all channels)
-- against a floor: the larger of a fixed minimum and a share of the trailing days' average
-- (the share applies only when every trailing day has sales).
WITH recent AS (
    SELECT sales_date, SUM(total_orders) AS orders
    FROM gold.agg_daily_sales
    WHERE sales_date BETWEEN $as_of - $trailing_days AND $as_of
    GROUP BY sales_date
),
history AS (
    SELECT COUNT(*) AS n_days, AVG(orders) AS baseline
    FROM recent
    WHERE sales_date < $as_of
),
measured AS (
    SELECT
        'total' AS scope,
        CAST(COALESCE((SELECT orders FROM recent WHERE sales_date = $as_of), 0) AS DOUBLE)
            AS value,
        CAST(GREATEST(
            $min_orders,
            CASE WHEN n_days = $trailing_days THEN baseline * $min_share ELSE 0 END
        ) AS DOUBLE) AS threshold,
        CAST(baseline AS DOUBLE) AS baseline
    FROM history
)
SELECT scope, value, threshold, baseline
FROM measured
WHERE value < threshold

-- Revenue of the as-of day against the average of the trailing days before it, per channel and
-- in total (gold.agg_daily_sales, base currency). A channel without sales on a day counts as 0.
-- A scope is checked when its history is complete (every trailing day has sales), known (no day
-- with an unknown revenue) and large enough to be stable (at least min_orders orders a day on
-- average); it fires when the day's revenue is below the average × (1 − threshold %).
WITH recent AS (
    SELECT sales_date, channel, total_revenue, total_orders
    FROM gold.agg_daily_sales
    WHERE sales_date BETWEEN $as_of - $trailing_days AND $as_of
),
days AS (
    SELECT DISTINCT sales_date FROM recent
),
channels AS (
    SELECT DISTINCT channel FROM recent
),
grid AS (
    SELECT
        d.sales_date,
        'channel=' || c.channel AS scope,
        CASE WHEN r.sales_date IS NULL THEN 0 ELSE r.total_revenue END AS revenue,
        COALESCE(r.total_orders, 0) AS orders
    FROM days AS d
    CROSS JOIN channels AS c
    LEFT JOIN recent AS r ON r.sales_date = d.sales_date AND r.channel = c.channel
),
scoped AS (
    SELECT sales_date, scope, revenue, orders FROM grid
    UNION ALL
    SELECT
        sales_date,
        'total' AS scope,
        CASE WHEN COUNT(*) = COUNT(revenue) THEN SUM(revenue) END AS revenue,
        SUM(orders) AS orders
    FROM grid
    GROUP BY sales_date
),
history AS (
    SELECT
        scope,
        COUNT(*) AS n_days,
        COUNT(revenue) AS n_known,
        AVG(revenue) AS baseline,
        AVG(orders) AS daily_orders
    FROM scoped
    WHERE sales_date < $as_of
    GROUP BY scope
),
today AS (
    SELECT scope, revenue FROM scoped WHERE sales_date = $as_of
),
measured AS (
    SELECT
        h.scope,
        CAST(COALESCE(t.revenue, 0) AS DOUBLE) AS value,
        CAST(h.baseline * (1 - $threshold_pct / 100.0) AS DOUBLE) AS threshold,
        CAST(h.baseline AS DOUBLE) AS baseline,
        t.scope IS NOT NULL AND t.revenue IS NULL AS unknown_today
    FROM history AS h
    LEFT JOIN today AS t ON t.scope = h.scope
    WHERE
        h.n_days = $trailing_days
        AND h.n_known = h.n_days
        AND h.baseline > 0
        AND h.daily_orders >= $min_orders
)
SELECT scope, value, threshold, baseline
FROM measured
WHERE NOT unknown_today AND value < threshold
ORDER BY scope

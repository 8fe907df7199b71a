-- The product sold most (units, revenue lines) over the $days days to the last sales date,
-- its units per day over those days (all stores), and the latest demand forecast of it
-- summed over its series: forecast, the seasonal-naive baseline and the sum of the series'
-- intervals (wider than the total's own). One row per day, actual or forecast.
WITH last_day AS (
    SELECT MAX(order_date) AS last_day
    FROM gold.fact_sales
    WHERE is_revenue
),
top_product AS (
    SELECT s.product_id
    FROM gold.fact_sales AS s
    CROSS JOIN last_day AS l
    WHERE s.is_revenue AND s.order_date > l.last_day - $days AND s.order_date <= l.last_day
        AND s.product_id IN (SELECT product_id FROM gold.demand_forecast)
    GROUP BY s.product_id
    ORDER BY SUM(s.quantity) DESC, s.product_id
    LIMIT 1
),
actual AS (
    SELECT
        s.order_date AS day,
        CAST(SUM(s.quantity) AS DOUBLE) AS actual
    FROM gold.fact_sales AS s
    CROSS JOIN last_day AS l
    WHERE s.is_revenue AND s.order_date > l.last_day - $days AND s.order_date <= l.last_day
        AND s.product_id = (SELECT product_id FROM top_product)
    GROUP BY s.order_date
),
predicted AS (
    SELECT
        forecast_date AS day,
        SUM(forecast) AS forecast,
        SUM(lo) AS lo,
        SUM(hi) AS hi,
        SUM(baseline) AS baseline
    FROM gold.demand_forecast
    WHERE product_id = (SELECT product_id FROM top_product)
    GROUP BY forecast_date
)
SELECT
    COALESCE(a.day, p.day) AS day,
    (SELECT product_id FROM top_product) AS product_id,
    a.actual,
    p.forecast,
    p.lo,
    p.hi,
    p.baseline
FROM actual AS a
FULL OUTER JOIN predicted AS p
    ON p.day = a.day
ORDER BY day

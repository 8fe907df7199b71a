-- One rate per currency and calendar day: the rate of that day, or the latest earlier one.
-- Days run from the first rate to a year past the last, so every event date finds its rate;
-- USD, the base currency, is 1 when no USD rate was delivered.
-- (the series is unnested in a query of its own: Spark allows no generator inside a CAST)
WITH series AS (
    SELECT UNNEST(GENERATE_SERIES(
        CAST(MIN(rate_date) AS TIMESTAMP),
        CAST(MAX(rate_date) AS TIMESTAMP) + INTERVAL 366 DAY,
        INTERVAL 1 DAY
    )) AS rate_ts
    FROM silver.fx_rates
),
days AS (
    SELECT CAST(rate_ts AS DATE) AS rate_day
    FROM series
),
currencies AS (
    SELECT DISTINCT currency FROM silver.fx_rates
    UNION
    SELECT 'USD' AS currency
),
picked AS (
    SELECT
        d.rate_day,
        c.currency,
        MAX(r.rate_date) AS rate_date
    FROM days AS d
    CROSS JOIN currencies AS c
    LEFT JOIN silver.fx_rates AS r
        ON r.currency = c.currency AND r.rate_date <= d.rate_day
    GROUP BY d.rate_day, c.currency
)
SELECT
    p.rate_day,
    p.currency,
    p.rate_date,
    CAST(
        COALESCE(r.rate_to_base, CASE WHEN p.currency = 'USD' THEN 1 END) AS DECIMAL(18, 6)
    ) AS rate_to_base
FROM picked AS p
LEFT JOIN silver.fx_rates AS r
    ON r.currency = p.currency AND r.rate_date = p.rate_date

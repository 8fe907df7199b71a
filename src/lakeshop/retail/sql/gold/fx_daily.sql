-- One rate per currency and calendar day: the rate of that day, or the latest earlier one.
-- Days run from the first rate to a year past the last, so every event date finds its rate;
-- The base currency ($base_currency) is 1 on every day, whatever rate was delivered for it (the
-- facts convert it at 1 even on days before the first rate, or with no rates at all).
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
    SELECT $base_currency AS currency
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
        CASE WHEN p.currency = $base_currency THEN 1 ELSE r.rate_to_base END AS DECIMAL(18, 6)
    ) AS rate_to_base
FROM picked AS p
LEFT JOIN silver.fx_rates AS r
    ON r.currency = p.currency AND r.rate_date = p.rate_date

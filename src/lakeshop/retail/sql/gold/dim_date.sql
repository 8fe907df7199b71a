-- Calendar: one row per day from the earliest to the latest business date in silver.
WITH event_dates AS (
    SELECT CAST(order_ts AS DATE) AS d FROM silver.orders
    UNION ALL SELECT CAST(returned_at AS DATE) FROM silver.returns
    UNION ALL SELECT CAST(transaction_ts AS DATE) FROM silver.payments
    UNION ALL SELECT CAST(refund_ts AS DATE) FROM silver.refunds
    UNION ALL SELECT CAST(event_ts AS DATE) FROM silver.clickstream
    UNION ALL SELECT snapshot_date FROM silver.inventory
    UNION ALL SELECT rate_date FROM silver.fx_rates
),
-- (unnested in a query of its own: Spark allows no generator inside a CAST)
series AS (
    SELECT UNNEST(GENERATE_SERIES(
        CAST(MIN(d) AS TIMESTAMP), CAST(MAX(d) AS TIMESTAMP), INTERVAL 1 DAY
    )) AS ts
    FROM event_dates
),
days AS (
    SELECT CAST(ts AS DATE) AS date_key
    FROM series
)
-- date parts are BIGINT, as DuckDB returns them (Spark's are INT); the day's name is spelt
-- out with a format both engines read alike (Spark's DAYNAME abbreviates it)
SELECT
    date_key,
    CAST(YEAR(date_key) AS BIGINT) AS year,
    CAST(QUARTER(date_key) AS BIGINT) AS quarter,
    CAST(MONTH(date_key) AS BIGINT) AS month,
    CAST(DATE_TRUNC('month', date_key) AS DATE) AS month_start,
    CAST(DAY(date_key) AS BIGINT) AS day,
    CAST(ISODOW(date_key) AS BIGINT) AS day_of_week,
    STRFTIME(date_key, '%A') AS day_name,
    CAST(WEEKOFYEAR(date_key) AS BIGINT) AS week_of_year,
    ISODOW(date_key) >= 6 AS is_weekend
FROM days

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
days AS (
    SELECT CAST(UNNEST(GENERATE_SERIES(
        CAST(MIN(d) AS TIMESTAMP), CAST(MAX(d) AS TIMESTAMP), INTERVAL 1 DAY
    )) AS DATE) AS date_key
    FROM event_dates
)
SELECT
    date_key,
    YEAR(date_key) AS year,
    QUARTER(date_key) AS quarter,
    MONTH(date_key) AS month,
    CAST(DATE_TRUNC('month', date_key) AS DATE) AS month_start,
    DAY(date_key) AS day,
    ISODOW(date_key) AS day_of_week,
    DAYNAME(date_key) AS day_name,
    WEEKOFYEAR(date_key) AS week_of_year,
    ISODOW(date_key) >= 6 AS is_weekend
FROM days

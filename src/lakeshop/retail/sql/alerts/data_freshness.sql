-- Hours from the clock to each checked source's latest business timestamp (silver), counted
-- at most from the source's first delivery (the first modified time of its files; of any
-- source's while it has none): data delivered for the first time is not stale however old its
-- business dates (a backfill of history), and a source with no data counts from then. The
-- clock is the wall clock when the now parameter holds it, else the latest delivery of any source: the latest
-- modified time in _system.files. A source fires when its hours exceed the SLA.
WITH clock AS (
    SELECT COALESCE(CAST($now AS TIMESTAMP), MAX(modified_at)) AS now FROM _system.files
),
delivered AS (
    SELECT source, MIN(modified_at) AS first_file FROM _system.files GROUP BY source
),
latest AS (
    SELECT 'orders' AS source, MAX(order_ts) AS latest FROM silver.orders
    UNION ALL
    SELECT 'payments', MAX(transaction_ts) FROM silver.payments
    UNION ALL
    SELECT 'refunds', MAX(refund_ts) FROM silver.refunds
    UNION ALL
    SELECT 'returns', MAX(returned_at) FROM silver.returns
    UNION ALL
    SELECT 'clickstream', MAX(event_ts) FROM silver.clickstream
    UNION ALL
    -- a snapshot or a rate covers its whole day: its timestamp is the end of that day
    SELECT 'inventory', CAST(MAX(snapshot_date) + 1 AS TIMESTAMP) FROM silver.inventory
    UNION ALL
    SELECT 'fx_rates', CAST(MAX(rate_date) + 1 AS TIMESTAMP) FROM silver.fx_rates
),
measured AS (
    SELECT
        'source=' || l.source AS scope,
        date_diff(
            'second',
            GREATEST(
                l.latest,
                COALESCE(d.first_file, (SELECT MIN(modified_at) FROM _system.files))
            ),
            c.now
        ) / 3600.0 AS value,
        CAST($max_hours AS DOUBLE) AS threshold,
        l.latest,
        c.now AS clock
    FROM latest AS l
    CROSS JOIN clock AS c
    LEFT JOIN delivered AS d ON d.source = l.source
    WHERE l.source IN $sources AND c.now IS NOT NULL
)
SELECT scope, value, threshold, latest, clock
FROM measured
WHERE value > threshold
ORDER BY scope

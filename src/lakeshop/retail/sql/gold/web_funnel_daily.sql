-- Daily web funnel (docs/gold.md): sessions with an event that day, sessions reaching each step,
-- and step-to-step conversion. Each ratio is ROUND(n / d, 4) half away from zero, computed
-- exactly on counts: FLOOR((2n * 10000 + d) / 2d) / 10000, the floor taken with MOD so that
-- no DOUBLE rounding is involved; NULL when d = 0.
WITH sessions AS (
    SELECT
        CAST(event_ts AS DATE) AS event_date,
        COUNT(DISTINCT session_id) AS sessions,
        COUNT(DISTINCT CASE WHEN event_type = 'view' THEN session_id END) AS view_sessions,
        COUNT(DISTINCT CASE WHEN event_type = 'add_to_cart' THEN session_id END) AS cart_sessions,
        COUNT(DISTINCT CASE WHEN event_type = 'checkout' THEN session_id END)
            AS checkout_sessions,
        COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END)
            AS purchase_sessions
    FROM silver.clickstream
    WHERE event_ts IS NOT NULL
    GROUP BY CAST(event_ts AS DATE)
)
SELECT
    event_date,
    CAST(sessions AS BIGINT) AS sessions,
    CAST(view_sessions AS BIGINT) AS view_sessions,
    CAST(cart_sessions AS BIGINT) AS cart_sessions,
    CAST(checkout_sessions AS BIGINT) AS checkout_sessions,
    CAST(purchase_sessions AS BIGINT) AS purchase_sessions,
    CAST(CASE
        WHEN view_sessions > 0 THEN CAST((
            (2 * cart_sessions * 10000 + view_sessions)
            - MOD(2 * cart_sessions * 10000 + view_sessions, 2 * view_sessions)
        ) / (2 * view_sessions) AS BIGINT) * 0.0001
    END AS DECIMAL(18, 4)) AS view_to_cart,
    CAST(CASE
        WHEN cart_sessions > 0 THEN CAST((
            (2 * checkout_sessions * 10000 + cart_sessions)
            - MOD(2 * checkout_sessions * 10000 + cart_sessions, 2 * cart_sessions)
        ) / (2 * cart_sessions) AS BIGINT) * 0.0001
    END AS DECIMAL(18, 4)) AS cart_to_checkout,
    CAST(CASE
        WHEN checkout_sessions > 0 THEN CAST((
            (2 * purchase_sessions * 10000 + checkout_sessions)
            - MOD(2 * purchase_sessions * 10000 + checkout_sessions, 2 * checkout_sessions)
        ) / (2 * checkout_sessions) AS BIGINT) * 0.0001
    END AS DECIMAL(18, 4)) AS checkout_to_purchase,
    CAST(CASE
        WHEN sessions > 0 THEN CAST((
            (2 * purchase_sessions * 10000 + sessions)
            - MOD(2 * purchase_sessions * 10000 + sessions, 2 * sessions)
        ) / (2 * sessions) AS BIGINT) * 0.0001
    END AS DECIMAL(18, 4)) AS conversion_rate
FROM sessions

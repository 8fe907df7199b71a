-- Refunds per payment type (docs/gold.md): captured payments, their completed refunds in the
-- base currency, and failed payments. refund_rate is ROUND(refunded / captured, 4) half away
-- from zero, computed exactly on cents: SIGN(n) * FLOOR((2|n| + d) / 2d), the floor taken with
-- MOD so that no DOUBLE rounding is involved; NULL when nothing was captured.
WITH by_type AS (
    SELECT
        payment_type,
        COUNT(CASE WHEN status = 'captured' THEN 1 END) AS payments,
        -- a payment without an exchange rate makes the total unknown, never understated
        CASE
            WHEN COUNT(CASE WHEN status = 'captured' THEN 1 END)
                = COUNT(CASE WHEN status = 'captured' THEN amount_base END)
                THEN CAST(COALESCE(
                    SUM(CASE WHEN status = 'captured' THEN amount_base END), 0
                ) AS DECIMAL(18, 2))
        END AS captured_amount_base,
        COALESCE(SUM(CASE WHEN status = 'captured' THEN refund_count END), 0) AS refunds,
        CASE
            WHEN COUNT(CASE WHEN status = 'captured' THEN 1 END)
                = COUNT(CASE WHEN status = 'captured' THEN refunded_amount_base END)
                THEN CAST(COALESCE(
                    SUM(CASE WHEN status = 'captured' THEN refunded_amount_base END), 0
                ) AS DECIMAL(18, 2))
        END AS refunded_amount_base,
        COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed_payments
    FROM gold.fact_payments
    WHERE payment_type IS NOT NULL
    GROUP BY payment_type
),
cents AS (
    SELECT
        *,
        CAST(refunded_amount_base * 100 AS BIGINT) AS refunded_cents,
        CAST(captured_amount_base * 100 AS BIGINT) AS captured_cents
    FROM by_type
)
SELECT
    payment_type,
    CAST(payments AS BIGINT) AS payments,
    captured_amount_base,
    CAST(refunds AS BIGINT) AS refunds,
    refunded_amount_base,
    CAST(CASE
        WHEN captured_cents <> 0 THEN CAST(
            SIGN(refunded_cents) * SIGN(captured_cents) * (
                (2 * ABS(refunded_cents) * 10000 + ABS(captured_cents))
                - MOD(
                    2 * ABS(refunded_cents) * 10000 + ABS(captured_cents),
                    2 * ABS(captured_cents)
                )
            ) / (2 * ABS(captured_cents)) AS BIGINT
        ) * 0.0001
    END AS DECIMAL(18, 4)) AS refund_rate,
    CAST(failed_payments AS BIGINT) AS failed_payments
FROM cents

-- One row per payment, with its completed refunds, in its currency and the base currency.
WITH refunded AS (
    SELECT
        payment_id,
        COUNT(*) AS refund_count,
        CAST(SUM(amount) AS DECIMAL(18, 2)) AS refunded_amount,
        MAX(refund_ts) AS last_refund_ts
    FROM silver.refunds
    WHERE status = 'completed'
    GROUP BY payment_id
)
SELECT
    p.payment_id,
    p.order_id,
    o.customer_id,
    CASE
        WHEN o.order_id IS NOT NULL AND o.customer_id IS NULL THEN 'guest' -- no customer: a guest checkout
        ELSE COALESCE(dc.customer_sk, '-1')
    END AS customer_sk,
    p.payment_type,
    p.card_brand,
    p.status,
    p.currency,
    p.amount,
    fx.rate_to_base AS fx_rate,
    CAST(ROUND(p.amount * fx.rate_to_base, 2) AS DECIMAL(18, 2)) AS amount_base,
    p.transaction_ts,
    CAST(p.transaction_ts AS DATE) AS payment_date,
    CAST(COALESCE(r.refund_count, 0) AS BIGINT) AS refund_count,
    COALESCE(r.refunded_amount, CAST(0 AS DECIMAL(18, 2))) AS refunded_amount,
    CAST(ROUND(
        COALESCE(r.refunded_amount, CAST(0 AS DECIMAL(18, 2))) * fx.rate_to_base, 2
    ) AS DECIMAL(18, 2)) AS refunded_amount_base,
    CAST(CASE
        WHEN p.status = 'captured' THEN p.amount - COALESCE(r.refunded_amount, 0)
        ELSE 0
    END AS DECIMAL(18, 2)) AS net_amount,
    r.last_refund_ts
FROM silver.payments AS p
LEFT JOIN silver.orders AS o
    ON o.order_id = p.order_id
LEFT JOIN refunded AS r
    ON r.payment_id = p.payment_id
LEFT JOIN gold.dim_customer AS dc
    ON dc.customer_id = o.customer_id
    AND p.transaction_ts >= dc.valid_from
    AND p.transaction_ts < dc.valid_to
LEFT JOIN gold.fx_daily AS fx
    ON fx.currency = p.currency AND fx.rate_day = CAST(p.transaction_ts AS DATE)

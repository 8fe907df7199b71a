-- One row per payment, with its completed refunds, in its currency and the base currency.
-- A payment without a time takes its order's order_ts; without a currency, its order's
-- (resolved as in fact_sales: the order's, its store's, else the base currency
-- $base_currency, which converts at 1). Amounts without a rate are kept, flagged fx_missing.
WITH refunded AS (
    SELECT
        payment_id,
        COUNT(*) AS refund_count,
        CAST(SUM(amount) AS DECIMAL(18, 2)) AS refunded_amount,
        MAX(refund_ts) AS last_refund_ts
    FROM silver.refunds
    WHERE status = 'completed'
    GROUP BY payment_id
),
paid AS (
    SELECT
        p.*,
        o.customer_id,
        o.order_id IS NOT NULL AND o.customer_id IS NULL AS _guest,
        COALESCE(p.transaction_ts, o.order_ts) AS paid_at,
        COALESCE(p.currency, o.currency, ds.currency, $base_currency) AS paid_currency
    FROM silver.payments AS p
    LEFT JOIN silver.orders AS o
        ON o.order_id = p.order_id
    LEFT JOIN gold.dim_store AS ds
        ON ds.store_id = o.store_id
),
priced AS (
    SELECT
        p.*,
        CASE
            WHEN p.paid_currency = $base_currency THEN CAST(1 AS DECIMAL(18, 6))
            ELSE fx.rate_to_base
        END AS fx_rate
    FROM paid AS p
    LEFT JOIN gold.fx_daily AS fx
        ON fx.currency = p.paid_currency AND fx.rate_day = CAST(p.paid_at AS DATE)
)
SELECT
    p.payment_id,
    p.order_id,
    p.customer_id,
    CASE
        WHEN p._guest THEN 'guest' -- no customer: a guest checkout
        ELSE COALESCE(dc.customer_sk, '-1')
    END AS customer_sk,
    p.payment_type,
    p.card_brand,
    p.status,
    p.paid_currency AS currency,
    p.amount,
    p.fx_rate,
    CAST(ROUND(p.amount * p.fx_rate, 2) AS DECIMAL(18, 2)) AS amount_base,
    p.paid_at AS transaction_ts,
    CAST(p.paid_at AS DATE) AS payment_date,
    CAST(COALESCE(r.refund_count, 0) AS BIGINT) AS refund_count,
    COALESCE(r.refunded_amount, CAST(0 AS DECIMAL(18, 2))) AS refunded_amount,
    CAST(ROUND(
        COALESCE(r.refunded_amount, CAST(0 AS DECIMAL(18, 2))) * p.fx_rate, 2
    ) AS DECIMAL(18, 2)) AS refunded_amount_base,
    CAST(CASE
        WHEN p.status = 'captured' THEN p.amount - COALESCE(r.refunded_amount, 0)
        ELSE 0
    END AS DECIMAL(18, 2)) AS net_amount,
    r.last_refund_ts,
    p.installments,
    p.fx_rate IS NULL AS fx_missing
FROM priced AS p
LEFT JOIN refunded AS r
    ON r.payment_id = p.payment_id
LEFT JOIN gold.dim_customer AS dc
    ON dc.customer_id = p.customer_id
    AND p.paid_at >= dc.valid_from
    AND p.paid_at < dc.valid_to

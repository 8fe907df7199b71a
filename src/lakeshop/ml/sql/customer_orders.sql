-- Every order of a known customer (cancelled ones left out): when it was placed, its value in
-- the base currency and when it was delivered (NULL: not delivered, or taken home in store).
-- The churn features keep only what happened before a cutoff.
SELECT
    customer_id,
    order_date,
    CAST(COALESCE(order_total_base, order_total) AS DOUBLE) AS amount,
    CAST(delivered_at AS DATE) AS delivered_date,
    channel
FROM gold.fact_orders
WHERE customer_id IS NOT NULL AND order_date IS NOT NULL AND completion_status <> 'Cancelled'

-- One row per order (gold.fact_orders).
SELECT
    order_id,
    order_date,
    order_ts AS ordered_at,
    customer_id,
    store_id,
    channel,
    currency,
    line_count AS lines,
    units,
    order_total,
    order_total_base AS order_total_in_base_currency,
    completion_status,
    delivered_at,
    delivery_days
FROM $fact_orders

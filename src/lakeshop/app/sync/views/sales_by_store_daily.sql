-- Sales per day and store, in the store's currency and the base currency (gold.daily_revenue).
SELECT
    sales_date,
    store_id,
    channel,
    currency AS store_currency,
    revenue_local AS gross_revenue_local,
    revenue_base AS gross_revenue,
    net_revenue,
    orders,
    units,
    freight_revenue,
    unconverted_lines
FROM $daily_revenue

-- Orders per day and channel over the $days days ending at $as_of (orders with a revenue line).
SELECT
    sales_date,
    channel,
    total_orders AS orders
FROM gold.agg_daily_sales
WHERE sales_date > $as_of - $days AND sales_date <= $as_of AND total_orders > 0
ORDER BY sales_date, channel

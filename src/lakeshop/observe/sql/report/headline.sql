-- The report's headline over the $days days ending at $as_of: revenue, orders, customers.
SELECT
    CAST(SUM(total_revenue) AS DOUBLE) AS revenue,
    CAST(SUM(total_orders) AS BIGINT) AS orders,
    COUNT(DISTINCT sales_date) AS days
FROM gold.agg_daily_sales
WHERE sales_date > $as_of - $days AND sales_date <= $as_of

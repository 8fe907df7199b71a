-- Daily revenue by channel (base currency) over the $days days ending at $as_of, from
-- gold.agg_daily_sales. A day whose revenue is unknown (a line without an exchange rate) is NULL.
SELECT
    sales_date,
    channel,
    CAST(total_revenue AS DOUBLE) AS revenue
FROM gold.agg_daily_sales
WHERE sales_date > $as_of - $days AND sales_date <= $as_of
ORDER BY sales_date, channel

-- Sales per day and sales channel, in the base currency (gold.agg_daily_sales).
SELECT
    sales_date,
    channel,
    total_revenue AS gross_revenue,
    net_revenue,
    total_orders AS orders,
    total_quantity AS units,
    unique_customers AS customers,
    avg_order_value,
    return_count AS returns,
    freight_revenue,
    unconverted_lines
FROM $agg_daily_sales

-- One row per order: its lines rolled up, completion status (seed 001) and delivery days.
WITH lines AS (
    SELECT
        order_id,
        MIN(order_date) AS order_date,
        MIN(order_ts) AS order_ts,
        MIN(customer_id) AS customer_id,
        MIN(customer_sk) AS customer_sk,
        MIN(store_id) AS store_id,
        MIN(store_sk) AS store_sk,
        MIN(channel) AS channel,
        MIN(currency) AS currency,
        COUNT(*) AS line_count,
        SUM(CASE WHEN is_revenue THEN 1 ELSE 0 END) AS revenue_line_count,
        SUM(CASE WHEN item_status = 'delivered' THEN 1 ELSE 0 END) AS delivered_line_count,
        SUM(CASE WHEN item_status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled_line_count,
        SUM(CASE WHEN is_revenue THEN quantity ELSE 0 END) AS units,
        CAST(SUM(CASE WHEN is_revenue THEN sales_total ELSE 0 END) AS DECIMAL(18, 2)) AS order_total,
        CAST(
            SUM(CASE WHEN is_revenue THEN sales_total_base ELSE 0 END) AS DECIMAL(18, 2)
        ) AS order_total_base,
        MAX(CASE WHEN item_status = 'delivered' THEN delivered_at END) AS last_delivered_at
    FROM gold.fact_sales
    GROUP BY order_id
),
statused AS (
    SELECT
        *,
        CASE
            WHEN cancelled_line_count = line_count THEN 'Cancelled'
            WHEN delivered_line_count = revenue_line_count THEN 'Completed'
            ELSE 'In progress'
        END AS completion_status
    FROM lines
)
SELECT
    order_id,
    order_date,
    order_ts,
    customer_id,
    customer_sk,
    store_id,
    store_sk,
    channel,
    currency,
    CAST(line_count AS BIGINT) AS line_count,
    CAST(revenue_line_count AS BIGINT) AS revenue_line_count,
    CAST(delivered_line_count AS BIGINT) AS delivered_line_count,
    CAST(cancelled_line_count AS BIGINT) AS cancelled_line_count,
    CAST(units AS BIGINT) AS units,
    order_total,
    order_total_base,
    completion_status,
    CASE WHEN completion_status = 'Completed' THEN last_delivered_at END AS delivered_at,
    CASE
        WHEN completion_status = 'Completed'
            THEN DATE_DIFF('day', order_date, CAST(last_delivered_at AS DATE))
    END AS delivery_days
FROM statused

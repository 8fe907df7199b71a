-- One row per order: its lines rolled up, completion status (seed 001) and delivery days.
-- Freight: the freight of its revenue lines plus the order's own, when it has a revenue line;
-- order_total = goods (revenue lines) + freight. A total with an unconverted part is NULL in
-- the base currency (unknown, never understated).
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
        MIN(fx_rate) AS fx_rate,
        COUNT(*) AS line_count,
        SUM(CASE WHEN is_revenue THEN 1 ELSE 0 END) AS revenue_line_count,
        SUM(
            CASE WHEN item_status = 'delivered' AND NOT is_credit_note THEN 1 ELSE 0 END
        ) AS delivered_line_count,
        SUM(
            CASE WHEN item_status = 'cancelled' AND NOT is_credit_note THEN 1 ELSE 0 END
        ) AS cancelled_line_count,
        SUM(CASE WHEN is_credit_note THEN 1 ELSE 0 END) AS credit_line_count,
        SUM(CASE WHEN is_revenue THEN quantity ELSE 0 END) AS units,
        CAST(SUM(CASE WHEN is_revenue THEN sales_total ELSE 0 END) AS DECIMAL(18, 2)) AS goods_total,
        CAST(
            SUM(CASE WHEN is_revenue THEN sales_total_base ELSE 0 END) AS DECIMAL(18, 2)
        ) AS goods_total_base,
        CAST(
            SUM(CASE WHEN is_revenue THEN freight_amount ELSE 0 END) AS DECIMAL(18, 2)
        ) AS line_freight,
        CAST(
            SUM(CASE WHEN is_revenue THEN freight_base ELSE 0 END) AS DECIMAL(18, 2)
        ) AS line_freight_base,
        SUM(CASE WHEN is_revenue AND fx_missing THEN 1 ELSE 0 END) AS unconverted,
        MAX(CASE WHEN item_status = 'delivered' THEN delivered_at END) AS last_delivered_at
    FROM gold.fact_sales
    GROUP BY order_id
),
freighted AS (
    SELECT
        l.*,
        CASE
            WHEN l.revenue_line_count > 0
                THEN CAST(COALESCE(o.freight_amount, 0) AS DECIMAL(18, 2))
            ELSE CAST(0 AS DECIMAL(18, 2))
        END AS order_freight
    FROM lines AS l
    LEFT JOIN silver.orders AS o
        ON o.order_id = l.order_id
),
statused AS (
    SELECT
        *,
        CAST(line_freight + order_freight AS DECIMAL(18, 2)) AS freight_total,
        CASE
            WHEN fx_rate IS NOT NULL THEN CAST(
                line_freight_base + CAST(ROUND(order_freight * fx_rate, 2) AS DECIMAL(18, 2))
                AS DECIMAL(18, 2)
            )
            WHEN line_freight + order_freight = 0 THEN CAST(0 AS DECIMAL(18, 2))
        END AS freight_total_base,
        CASE
            WHEN credit_line_count = line_count THEN 'Credit note'
            WHEN cancelled_line_count = line_count - credit_line_count THEN 'Cancelled'
            WHEN delivered_line_count > 0 AND delivered_line_count = revenue_line_count
                THEN 'Completed'
            ELSE 'In progress'
        END AS completion_status
    FROM freighted
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
    CAST(goods_total + freight_total AS DECIMAL(18, 2)) AS order_total,
    CASE
        WHEN unconverted = 0 THEN CAST(goods_total_base + freight_total_base AS DECIMAL(18, 2))
    END AS order_total_base,
    completion_status,
    CASE WHEN completion_status = 'Completed' THEN last_delivered_at END AS delivered_at,
    CASE
        WHEN completion_status = 'Completed'
            THEN DATE_DIFF('day', order_date, CAST(last_delivered_at AS DATE))
    END AS delivery_days,
    CAST(credit_line_count AS BIGINT) AS credit_line_count,
    freight_total,
    freight_total_base,
    fx_rate IS NULL AS fx_missing
FROM statused

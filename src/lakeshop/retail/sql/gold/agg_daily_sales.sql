-- Daily sales by channel in the base currency (docs/gold.md): revenue lines by order date,
-- returns (credit notes included) by return date and the channel of their order; net revenue
-- is revenue minus that day's returns and credit notes; freight from the orders of the day.
WITH sales AS (
    SELECT
        order_date AS sales_date,
        channel,
        -- a line without an exchange rate makes the day's revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS total_revenue,
        CAST(SUM(sales_total_base) * 100 AS BIGINT) AS revenue_cents,
        CAST(SUM(quantity) AS BIGINT) AS total_quantity,
        COUNT(DISTINCT order_id) AS total_orders,
        COUNT(DISTINCT customer_id) AS unique_customers,
        COUNT(*) - COUNT(sales_total_base) AS unconverted_lines
    FROM gold.fact_sales
    WHERE is_revenue
    GROUP BY order_date, channel
),
freight AS (
    SELECT
        order_date AS sales_date,
        channel,
        CASE
            WHEN COUNT(*) = COUNT(freight_total_base)
                THEN CAST(SUM(freight_total_base) AS DECIMAL(18, 2))
        END AS freight_revenue
    FROM gold.fact_orders
    WHERE revenue_line_count > 0
    GROUP BY order_date, channel
),
returned AS (
    SELECT
        return_date AS sales_date,
        channel,
        COUNT(*) AS return_count,
        CASE
            WHEN COUNT(*) = COUNT(return_amount_base)
                THEN CAST(SUM(return_amount_base) AS DECIMAL(18, 2))
        END AS returned_base
    FROM gold.fact_returns
    GROUP BY return_date, channel
)
SELECT
    COALESCE(s.sales_date, rt.sales_date) AS sales_date,
    COALESCE(s.channel, rt.channel) AS channel,
    CASE
        WHEN s.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE s.total_revenue
    END AS total_revenue,
    COALESCE(s.total_quantity, 0) AS total_quantity,
    COALESCE(s.total_orders, 0) AS total_orders,
    COALESCE(s.unique_customers, 0) AS unique_customers,
    COALESCE(rt.return_count, 0) AS return_count,
    -- ROUND(total_revenue / total_orders, 2) half away from zero, exactly: in integer cents,
    -- since DuckDB divides decimals through DOUBLE and misrounds some half-way cases
    CAST(CASE
        WHEN COALESCE(s.total_orders, 0) = 0 THEN 0
        ELSE CAST(
            SIGN(s.revenue_cents) * (
                (2 * ABS(s.revenue_cents) + s.total_orders)
                - MOD(2 * ABS(s.revenue_cents) + s.total_orders, 2 * s.total_orders)
            ) / (2 * s.total_orders) AS BIGINT
        ) * 0.01
    END AS DECIMAL(18, 2)) AS avg_order_value,
    CAST(
        CASE WHEN s.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE s.total_revenue END
        - CASE WHEN rt.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE rt.returned_base END
        AS DECIMAL(18, 2)
    ) AS net_revenue,
    CASE
        WHEN f.sales_date IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE f.freight_revenue
    END AS freight_revenue,
    CAST(COALESCE(s.unconverted_lines, 0) AS BIGINT) AS unconverted_lines
-- an order may have no channel (an export without one): NULL is a channel of its own here
FROM sales AS s
FULL OUTER JOIN returned AS rt
    ON rt.sales_date = s.sales_date AND rt.channel IS NOT DISTINCT FROM s.channel
LEFT JOIN freight AS f
    ON f.sales_date = s.sales_date AND f.channel IS NOT DISTINCT FROM s.channel

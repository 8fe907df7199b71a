-- Net margin per day and store: what the day's sales kept after the goods' cost, the returns
-- refunded that day and the freight of the day's orders, in the base currency.
WITH sales AS (
    SELECT
        s.order_date AS sales_date,
        s.store_id,
        SUM(s.sales_total_base) AS revenue_base,
        -- the product's current unit cost, in its own currency, at the rate of the sale's day
        SUM(s.quantity * p.unit_cost * f.rate_to_base) AS cost_base
    FROM gold.fact_sales AS s
    LEFT JOIN gold.dim_product AS p
        ON p.product_id = s.product_id AND p.is_current
    LEFT JOIN gold.fx_daily AS f
        ON f.currency = p.currency AND f.rate_day = s.order_date
    WHERE s.is_revenue
    GROUP BY s.order_date, s.store_id
),
returned AS (
    SELECT return_date AS sales_date, store_id, SUM(return_amount_base) AS returns_base
    FROM gold.fact_returns
    WHERE store_id IS NOT NULL
    GROUP BY return_date, store_id
),
freight AS (
    SELECT order_date AS sales_date, store_id, SUM(freight_total_base) AS freight_base
    FROM gold.fact_orders
    WHERE revenue_line_count > 0
    GROUP BY order_date, store_id
),
days AS (
    SELECT sales_date, store_id FROM sales
    UNION
    SELECT sales_date, store_id FROM returned
)
SELECT
    d.sales_date,
    d.store_id,
    CAST(COALESCE(s.revenue_base, 0) AS DECIMAL(18, 2)) AS revenue_base,
    CAST(COALESCE(s.cost_base, 0) AS DECIMAL(18, 2)) AS cost_base,
    CAST(COALESCE(r.returns_base, 0) AS DECIMAL(18, 2)) AS returns_base,
    CAST(COALESCE(fr.freight_base, 0) AS DECIMAL(18, 2)) AS freight_base,
    CAST(
        COALESCE(s.revenue_base, 0) - COALESCE(s.cost_base, 0)
        - COALESCE(r.returns_base, 0) - COALESCE(fr.freight_base, 0)
        AS DECIMAL(18, 2)
    ) AS net_margin
FROM days AS d
LEFT JOIN sales AS s ON s.sales_date = d.sales_date AND s.store_id = d.store_id
LEFT JOIN returned AS r ON r.sales_date = d.sales_date AND r.store_id = d.store_id
LEFT JOIN freight AS fr ON fr.sales_date = d.sales_date AND fr.store_id = d.store_id

-- Most sold products over the 30 days ending at as_of: delivered lines only, top 10 by units.
-- Window: order_date > as_of - 30 AND order_date <= as_of. share_of_units is the product's share
-- of every delivered unit in the window (all products, not only the ten shown). Ranks use RANK()
-- (ties share a rank); product_id breaks ties for the cut at ten rows.
WITH delivered AS (
    SELECT product_id, order_id, order_date, quantity, sales_total_base
    FROM gold.fact_sales
    WHERE
        item_status = 'delivered'
        AND order_date > $as_of - 30
        AND order_date <= $as_of
),
by_product AS (
    SELECT
        product_id,
        CAST(SUM(quantity) AS BIGINT) AS units,
        -- a line without an exchange rate makes the revenue unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(sales_total_base)
                THEN CAST(SUM(sales_total_base) AS DECIMAL(18, 2))
        END AS revenue_base,
        COUNT(DISTINCT order_id) AS orders,
        COUNT(DISTINCT order_date) AS sales_days
    FROM delivered
    GROUP BY product_id
),
ranked AS (
    SELECT
        RANK() OVER (ORDER BY units DESC) AS rank,
        product_id,
        units,
        revenue_base,
        orders,
        sales_days,
        CAST(ROUND(units / SUM(units) OVER (), 4) AS DECIMAL(18, 4)) AS share_of_units
    FROM by_product
)
SELECT
    r.rank,
    r.product_id,
    p.name AS product_name,
    p.category,
    r.units,
    r.revenue_base,
    r.orders,
    r.sales_days,
    r.share_of_units
FROM ranked AS r
LEFT JOIN gold.dim_product AS p
    ON p.product_id = r.product_id AND p.is_current
ORDER BY r.units DESC, r.product_id
LIMIT 10

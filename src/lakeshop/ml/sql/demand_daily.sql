-- Units sold per day, product and store (revenue lines): the demand forecast's history. A
-- coarser grain (product × channel, product) is summed from it.
SELECT
    order_date AS sales_date,
    product_id,
    store_id,
    channel,
    CAST(SUM(quantity) AS DOUBLE) AS units
FROM gold.fact_sales
WHERE is_revenue AND product_id IS NOT NULL AND store_id IS NOT NULL AND order_date IS NOT NULL
GROUP BY order_date, product_id, store_id, channel

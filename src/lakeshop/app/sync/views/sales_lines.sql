-- One row per order line, with its day, product, store and customer (gold.fact_sales and its
-- dimensions: the versions valid when the order was placed).
SELECT
    s.order_id,
    s.line_no,
    s.order_date,
    d.year AS order_year,
    d.month_start AS order_month,
    d.day_name AS order_weekday,
    s.channel,
    s.store_id,
    st.name AS store_name,
    s.product_id,
    p.name AS product_name,
    p.category AS product_category,
    p.brand AS product_brand,
    s.customer_id,
    c.loyalty_tier AS customer_loyalty_tier,
    c.country AS customer_country,
    s.item_status,
    s.is_revenue,
    s.quantity,
    s.unit_price,
    s.currency,
    s.sales_total,
    s.sales_total_base AS sales_total_in_base_currency
FROM $fact_sales AS s
LEFT JOIN $dim_date AS d ON d.date_key = s.order_date
LEFT JOIN $dim_store AS st ON st.store_sk = s.store_sk
LEFT JOIN $dim_product AS p ON p.product_sk = s.product_sk
LEFT JOIN $dim_customer AS c ON c.customer_sk = s.customer_sk

-- Sales per month and product (gold.product_sales_monthly).
SELECT month, product_id, category, units, revenue_base AS revenue, orders, customers
FROM $product_sales_monthly

-- Revenue (base currency, revenue lines of gold.fact_sales) that sits on placeholder members:
-- the guest customer (orders without a customer) and inferred customers, products and stores
-- (keys whose record has not arrived), against all revenue. One row per kind of member, then
-- one for any inferred member and one for all revenue; `members` counts distinct keys (NULL
-- on those two rows).
WITH lines AS (
    SELECT
        f.sales_total_base,
        f.customer_id,
        f.product_id,
        f.store_id,
        f.customer_sk = 'guest' AS on_guest,
        COALESCE(dc.is_inferred, FALSE) AS on_inferred_customer,
        COALESCE(dp.is_inferred, FALSE) AS on_inferred_product,
        COALESCE(ds.is_inferred, FALSE) AS on_inferred_store
    FROM gold.fact_sales AS f
    LEFT JOIN gold.dim_customer AS dc ON dc.customer_sk = f.customer_sk
    LEFT JOIN gold.dim_product AS dp ON dp.product_sk = f.product_sk
    LEFT JOIN gold.dim_store AS ds ON ds.store_sk = f.store_sk
    WHERE f.is_revenue
),
kinds AS (
    SELECT 1 AS n, 'guest customer' AS members_of, on_guest AS hit, 'guest' AS member, *
    FROM lines
    UNION ALL
    SELECT 2, 'inferred customer', on_inferred_customer, customer_id, * FROM lines
    UNION ALL
    SELECT 3, 'inferred product', on_inferred_product, product_id, * FROM lines
    UNION ALL
    SELECT 4, 'inferred store', on_inferred_store, store_id, * FROM lines
    UNION ALL
    SELECT
        5, 'any inferred member',
        on_inferred_customer OR on_inferred_product OR on_inferred_store, NULL, *
    FROM lines
    UNION ALL
    SELECT 6, 'all revenue', TRUE, NULL, * FROM lines
)
SELECT
    members_of,
    CAST(COUNT(*) FILTER (WHERE hit) AS BIGINT) AS lines,
    CASE WHEN n < 5 THEN CAST(COUNT(DISTINCT member) FILTER (WHERE hit) AS BIGINT) END AS members,
    CAST(COALESCE(SUM(sales_total_base) FILTER (WHERE hit), 0) AS DECIMAL(18, 2)) AS revenue_base,
    CAST(ROUND(
        COALESCE(SUM(sales_total_base) FILTER (WHERE hit), 0) / NULLIF(SUM(sales_total_base), 0), 4
    ) AS DECIMAL(18, 4)) AS share_of_revenue
FROM kinds
GROUP BY n, members_of
ORDER BY n

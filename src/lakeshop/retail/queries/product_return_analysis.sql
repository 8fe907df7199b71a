-- Top 20 products by return rate (at least 5 units sold), with units, return amount, top reason.
-- Reads the gold.product_returns mart, computed over the whole history; name and category come
-- from the current gold.dim_product version.
WITH ranked AS (
    SELECT
        RANK() OVER (ORDER BY return_rate DESC) AS rank,
        product_id,
        units_sold,
        units_returned,
        return_rate,
        return_amount_base,
        top_reason
    FROM gold.product_returns
    WHERE units_sold >= 5
)
SELECT
    r.rank,
    r.product_id,
    p.name AS product_name,
    p.category,
    r.units_sold,
    r.units_returned,
    r.return_rate,
    r.return_amount_base,
    r.top_reason
FROM ranked AS r
LEFT JOIN gold.dim_product AS p
    ON p.product_id = r.product_id AND p.is_current
ORDER BY r.return_rate DESC, r.product_id
LIMIT 20

-- Product versions for SCD2: every validated version, and an inferred member for each product
-- an order line or a stock snapshot names whose record has not arrived (attributes NULL,
-- completed in place when it does). The scd2 strategy builds the history.
SELECT
    product_id,
    sku,
    name,
    category,
    subcategory,
    brand,
    list_price,
    unit_cost,
    currency,
    is_active,
    updated_at,
    FALSE AS is_inferred
FROM silver.products_history
UNION ALL
SELECT
    p.product_id,
    NULL AS sku,
    NULL AS name,
    NULL AS category,
    NULL AS subcategory,
    NULL AS brand,
    NULL AS list_price,
    NULL AS unit_cost,
    NULL AS currency,
    NULL AS is_active,
    NULL AS updated_at,
    TRUE AS is_inferred
FROM (
    SELECT product_id FROM silver.order_items
    UNION
    SELECT product_id FROM silver.inventory
) AS p
WHERE p.product_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM silver.products_history AS h WHERE h.product_id = p.product_id
)

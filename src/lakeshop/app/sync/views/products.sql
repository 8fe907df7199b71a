-- Products as they are now: the current version of each (gold.dim_product).
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
    is_inferred
FROM $dim_product
WHERE is_current

-- Product versions for SCD2: every validated version; the scd2 strategy builds the history.
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
    updated_at
FROM silver.products_history

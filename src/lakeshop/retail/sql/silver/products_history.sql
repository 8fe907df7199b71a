-- Every valid version of every product, prices typed in DECIMAL (feeds SCD2 and the latest view).
SELECT
    lakeshop_key(product_id) AS product_id,
    NULLIF(UPPER(TRIM(sku)), '') AS sku,
    NULLIF(TRIM(name), '') AS name,
    NULLIF(TRIM(category), '') AS category,
    NULLIF(TRIM(subcategory), '') AS subcategory,
    NULLIF(TRIM(brand), '') AS brand,
    TRY_CAST(NULLIF(TRIM(list_price), '') AS DECIMAL(18, 2)) AS list_price,
    TRY_CAST(NULLIF(TRIM(unit_cost), '') AS DECIMAL(18, 2)) AS unit_cost,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    TRY_CAST(NULLIF(TRIM(is_active), '') AS BOOLEAN) AS is_active,
    -- absent: the file's delivery time (its modified time as first logged)
    CASE
        WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
        ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
    END AS updated_at,
    NULLIF(TRIM(list_price), '') AS _raw_list_price,
    NULLIF(TRIM(unit_cost), '') AS _raw_unit_cost,
    NULLIF(TRIM(is_active), '') AS _raw_is_active,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM bronze.products

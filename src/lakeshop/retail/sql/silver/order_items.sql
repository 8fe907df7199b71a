-- Order lines: quantities and amounts typed; the latest status per (order_id, line_no) wins.
SELECT
    NULLIF(TRIM(order_id), '') AS order_id,
    TRY_CAST(NULLIF(TRIM(line_no), '') AS INTEGER) AS line_no,
    NULLIF(TRIM(product_id), '') AS product_id,
    TRY_CAST(NULLIF(TRIM(quantity), '') AS INTEGER) AS quantity,
    TRY_CAST(NULLIF(TRIM(unit_price), '') AS DECIMAL(18, 2)) AS unit_price,
    COALESCE(TRY_CAST(NULLIF(TRIM(discount_amount), '') AS DECIMAL(18, 2)), 0) AS discount_amount,
    COALESCE(TRY_CAST(NULLIF(TRIM(tax_amount), '') AS DECIMAL(18, 2)), 0) AS tax_amount,
    LOWER(NULLIF(TRIM(item_status), '')) AS item_status,
    TRY_CAST(NULLIF(TRIM(shipped_at), '') AS TIMESTAMP) AS shipped_at,
    TRY_CAST(NULLIF(TRIM(delivered_at), '') AS TIMESTAMP) AS delivered_at,
    TRY_CAST(NULLIF(TRIM(updated_at), '') AS TIMESTAMP) AS updated_at,
    NULLIF(TRIM(line_no), '') AS _raw_line_no,
    NULLIF(TRIM(quantity), '') AS _raw_quantity,
    NULLIF(TRIM(unit_price), '') AS _raw_unit_price,
    NULLIF(TRIM(discount_amount), '') AS _raw_discount_amount,
    NULLIF(TRIM(tax_amount), '') AS _raw_tax_amount,
    NULLIF(TRIM(shipped_at), '') AS _raw_shipped_at,
    NULLIF(TRIM(delivered_at), '') AS _raw_delivered_at,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM bronze.order_items

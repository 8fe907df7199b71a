-- Inventory: stock on hand per store, product and snapshot date.
SELECT
    TRY_CAST(NULLIF(TRIM(snapshot_date), '') AS DATE) AS snapshot_date,
    lakeshop_key(store_id) AS store_id,
    lakeshop_key(product_id) AS product_id,
    TRY_CAST(NULLIF(TRIM(on_hand_qty), '') AS INTEGER) AS on_hand_qty,
    TRY_CAST(NULLIF(TRIM(reorder_point), '') AS INTEGER) AS reorder_point,
    NULLIF(TRIM(snapshot_date), '') AS _raw_snapshot_date,
    NULLIF(TRIM(on_hand_qty), '') AS _raw_on_hand_qty,
    NULLIF(TRIM(reorder_point), '') AS _raw_reorder_point,
    _source_file,
    _source_row
FROM bronze.inventory

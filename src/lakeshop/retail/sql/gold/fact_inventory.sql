-- One row per store, product and snapshot date, with the versions valid at the snapshot.
SELECT
    v.snapshot_date,
    v.store_id,
    COALESCE(ds.store_sk, '-1') AS store_sk,
    v.product_id,
    COALESCE(dp.product_sk, '-1') AS product_sk,
    v.on_hand_qty,
    v.reorder_point,
    v.on_hand_qty = 0 AS is_stock_out,
    COALESCE(v.on_hand_qty <= v.reorder_point, FALSE) AS below_reorder_point
FROM silver.inventory AS v
LEFT JOIN gold.dim_product AS dp
    ON dp.product_id = v.product_id
    AND CAST(v.snapshot_date AS TIMESTAMP) >= dp.valid_from
    AND CAST(v.snapshot_date AS TIMESTAMP) < dp.valid_to
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = v.store_id

-- Orders: header of a sale; latest version per order_id wins.
SELECT
    NULLIF(TRIM(order_id), '') AS order_id,
    NULLIF(TRIM(customer_id), '') AS customer_id,
    NULLIF(TRIM(store_id), '') AS store_id,
    LOWER(NULLIF(TRIM(channel), '')) AS channel,
    TRY_CAST(NULLIF(TRIM(order_ts), '') AS TIMESTAMP) AS order_ts,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    LOWER(NULLIF(TRIM(status), '')) AS status,
    TRY_CAST(NULLIF(TRIM(updated_at), '') AS TIMESTAMP) AS updated_at,
    NULLIF(TRIM(order_ts), '') AS _raw_order_ts,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM bronze.orders

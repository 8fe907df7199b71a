-- Orders: header of a sale; latest version per order_id wins.
SELECT
    lakeshop_key(order_id) AS order_id,
    lakeshop_key(customer_id) AS customer_id,
    lakeshop_key(store_id) AS store_id,
    LOWER(NULLIF(TRIM(channel), '')) AS channel,
    lakeshop_utc_timestamp(NULLIF(TRIM(order_ts), ''), $timezone) AS order_ts,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    LOWER(NULLIF(TRIM(status), '')) AS status,
    -- absent: the file's delivery time (its modified time as first logged)
    CASE
        WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
        ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
    END AS updated_at,
    TRY_CAST(NULLIF(TRIM(freight_amount), '') AS DECIMAL(18, 2)) AS freight_amount,
    NULLIF(TRIM(order_ts), '') AS _raw_order_ts,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    NULLIF(TRIM(freight_amount), '') AS _raw_freight_amount,
    _source_file,
    _source_row
FROM bronze.orders

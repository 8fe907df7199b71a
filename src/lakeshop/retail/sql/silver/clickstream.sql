-- Web events: one row per event_id; customer_id is null for anonymous sessions.
SELECT
    lakeshop_key(event_id) AS event_id,
    lakeshop_key(session_id) AS session_id,
    lakeshop_key(customer_id) AS customer_id,
    LOWER(NULLIF(TRIM(event_type), '')) AS event_type,
    lakeshop_key(product_id) AS product_id,
    lakeshop_utc_timestamp(NULLIF(TRIM(event_ts), ''), $timezone) AS event_ts,
    LOWER(NULLIF(TRIM(device), '')) AS device,
    NULLIF(TRIM(event_ts), '') AS _raw_event_ts,
    _source_file,
    _source_row
FROM bronze.clickstream

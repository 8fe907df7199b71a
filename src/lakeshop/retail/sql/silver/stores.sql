-- Stores: one row per store, latest version wins.
SELECT
    lakeshop_key(store_id) AS store_id,
    NULLIF(TRIM(name), '') AS name,
    LOWER(NULLIF(TRIM(channel), '')) AS channel,
    NULLIF(TRIM(city), '') AS city,
    NULLIF(TRIM(country), '') AS country,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    TRY_CAST(NULLIF(TRIM(opened_on), '') AS DATE) AS opened_on,
    -- absent: the file's delivery time (its modified time as first logged)
    CASE
        WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
        ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
    END AS updated_at,
    NULLIF(TRIM(opened_on), '') AS _raw_opened_on,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM bronze.stores

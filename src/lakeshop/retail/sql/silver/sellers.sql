-- Sellers of a marketplace (an optional source): one row per seller, latest version wins.
SELECT
    lakeshop_key(seller_id) AS seller_id,
    NULLIF(TRIM(name), '') AS name,
    NULLIF(TRIM(city), '') AS city,
    NULLIF(TRIM(state), '') AS state,
    NULLIF(TRIM(country), '') AS country,
    -- absent: the file's delivery time (its modified time as first logged)
    CASE
        WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
        ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
    END AS updated_at,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM bronze.sellers

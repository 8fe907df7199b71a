-- Stores (SCD1): the surrogate key is the store id; '-1' is the unknown store.
SELECT
    store_id AS store_sk,
    store_id,
    name,
    channel,
    city,
    country,
    currency,
    opened_on
FROM silver.stores
UNION ALL
SELECT
    '-1' AS store_sk,
    NULL AS store_id,
    NULL AS name,
    NULL AS channel,
    NULL AS city,
    NULL AS country,
    NULL AS currency,
    NULL AS opened_on

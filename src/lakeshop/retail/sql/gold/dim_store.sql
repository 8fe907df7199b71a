-- Stores (SCD1): the surrogate key is the store id; an inferred member for each store an order
-- or a stock snapshot names whose record has not arrived (attributes NULL, same key, completed
-- in place when it does); '-1' is the unknown store.
SELECT
    store_id AS store_sk,
    store_id,
    name,
    channel,
    city,
    country,
    currency,
    opened_on,
    FALSE AS is_inferred
FROM silver.stores
UNION ALL
SELECT
    s.store_id AS store_sk,
    s.store_id,
    NULL AS name,
    NULL AS channel,
    NULL AS city,
    NULL AS country,
    NULL AS currency,
    NULL AS opened_on,
    TRUE AS is_inferred
FROM (
    SELECT store_id FROM silver.orders
    UNION
    SELECT store_id FROM silver.inventory
) AS s
WHERE s.store_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM silver.stores AS k WHERE k.store_id = s.store_id)
UNION ALL
SELECT
    '-1' AS store_sk,
    NULL AS store_id,
    NULL AS name,
    NULL AS channel,
    NULL AS city,
    NULL AS country,
    NULL AS currency,
    NULL AS opened_on,
    NULL AS is_inferred

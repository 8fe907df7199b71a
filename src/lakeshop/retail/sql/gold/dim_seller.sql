-- Sellers of a marketplace (SCD1): the surrogate key is the seller id; '-1' is the unknown seller
-- (a line without a seller, or whose seller is not in the sellers export).
SELECT
    seller_id AS seller_sk,
    seller_id,
    name,
    city,
    state,
    country
FROM silver.sellers
UNION ALL
SELECT
    '-1' AS seller_sk,
    NULL AS seller_id,
    NULL AS name,
    NULL AS city,
    NULL AS state,
    NULL AS country

-- Customer versions for SCD2: every validated version; an inferred member for each customer an
-- order names whose record has not arrived (attributes NULL, completed in place when it does);
-- the guest member, for orders without a customer. The scd2 strategy builds the history.
SELECT
    CAST(NULL AS VARCHAR) AS customer_sk,
    customer_id,
    first_name,
    last_name,
    email,
    phone,
    gender,
    birth_date,
    age_group,
    city,
    state,
    postal_code,
    country,
    loyalty_tier,
    created_at,
    updated_at,
    FALSE AS is_inferred,
    FALSE AS is_guest
FROM silver.customers_history
UNION ALL
SELECT
    CAST(NULL AS VARCHAR) AS customer_sk,
    o.customer_id,
    NULL AS first_name,
    NULL AS last_name,
    NULL AS email,
    NULL AS phone,
    NULL AS gender,
    NULL AS birth_date,
    NULL AS age_group,
    NULL AS city,
    NULL AS state,
    NULL AS postal_code,
    NULL AS country,
    NULL AS loyalty_tier,
    NULL AS created_at,
    NULL AS updated_at,
    TRUE AS is_inferred,
    FALSE AS is_guest
FROM (SELECT DISTINCT customer_id FROM silver.orders WHERE customer_id IS NOT NULL) AS o
WHERE NOT EXISTS (
    SELECT 1 FROM silver.customers_history AS h WHERE h.customer_id = o.customer_id
)
UNION ALL
SELECT
    'guest' AS customer_sk,
    NULL AS customer_id,
    NULL AS first_name,
    NULL AS last_name,
    NULL AS email,
    NULL AS phone,
    NULL AS gender,
    NULL AS birth_date,
    NULL AS age_group,
    NULL AS city,
    NULL AS state,
    NULL AS postal_code,
    NULL AS country,
    NULL AS loyalty_tier,
    NULL AS created_at,
    NULL AS updated_at,
    FALSE AS is_inferred,
    TRUE AS is_guest

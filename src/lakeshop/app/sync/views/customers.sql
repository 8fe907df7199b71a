-- Customers as they are now: the current version of each (gold.dim_customer).
SELECT
    customer_id,
    first_name,
    last_name,
    email,
    gender,
    age_group,
    city,
    state,
    country,
    loyalty_tier,
    created_at,
    is_guest,
    is_inferred
FROM $dim_customer
WHERE is_current

-- Customer versions for SCD2: every validated version; the scd2 strategy builds the history.
SELECT
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
    updated_at
FROM silver.customers_history

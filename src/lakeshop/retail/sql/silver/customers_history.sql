-- Every valid version of every customer: trimmed, case-normalised, typed (feeds SCD2 and the latest view).
SELECT
    lakeshop_key(customer_id) AS customer_id,
    array_to_string(
        list_transform(string_split(LOWER(TRIM(first_name)), ' '), lambda w: UPPER(SUBSTRING(w, 1, 1)) || SUBSTRING(w, 2)), ' '
    ) AS first_name,
    array_to_string(
        list_transform(string_split(LOWER(TRIM(last_name)), ' '), lambda w: UPPER(SUBSTRING(w, 1, 1)) || SUBSTRING(w, 2)), ' '
    ) AS last_name,
    LOWER(TRIM(email)) AS email,
    NULLIF(regexp_replace(phone, '[^0-9+]', '', 'g'), '') AS phone,
    NULLIF(TRIM(gender), '') AS gender,
    TRY_CAST(NULLIF(TRIM(birth_date), '') AS DATE) AS birth_date,
    CASE
        WHEN TRY_CAST(NULLIF(TRIM(birth_date), '') AS DATE) IS NULL THEN NULL
        WHEN age_years < 18 THEN 'under 18'
        WHEN age_years <= 25 THEN '18-25'
        WHEN age_years <= 35 THEN '26-35'
        WHEN age_years <= 45 THEN '36-45'
        WHEN age_years <= 55 THEN '46-55'
        WHEN age_years <= 65 THEN '56-65'
        ELSE '65+'
    END AS age_group,
    NULLIF(TRIM(city), '') AS city,
    NULLIF(TRIM(state), '') AS state,
    NULLIF(UPPER(regexp_replace(postal_code, '[^0-9A-Za-z-]', '', 'g')), '') AS postal_code,
    NULLIF(TRIM(country), '') AS country,
    LOWER(NULLIF(TRIM(loyalty_tier), '')) AS loyalty_tier,
    lakeshop_utc_timestamp(NULLIF(TRIM(created_at), ''), $timezone) AS created_at,
    version_at AS updated_at,
    NULLIF(TRIM(birth_date), '') AS _raw_birth_date,
    NULLIF(TRIM(created_at), '') AS _raw_created_at,
    NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
    _source_file,
    _source_row
FROM (
    SELECT
        *,
        -- whole years between birth and the version's date: the data's own clock, never today
        CAST(FLOOR((
            (YEAR(version_at) * 10000 + MONTH(version_at) * 100 + DAY(version_at))
            - (YEAR(TRY_CAST(birth_date AS DATE)) * 10000
                + MONTH(TRY_CAST(birth_date AS DATE)) * 100
                + DAY(TRY_CAST(birth_date AS DATE)))
        ) / 10000) AS INTEGER) AS age_years
    FROM (
        SELECT
            *,
            -- updated_at, or when absent the file's delivery time (its modified time as logged)
            CASE
                WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
                ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
            END AS version_at
        FROM bronze.customers
    ) AS b
) AS c

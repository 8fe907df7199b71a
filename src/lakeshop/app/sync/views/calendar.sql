-- One row per day of the data's span (gold.dim_date).
SELECT
    date_key AS day,
    year,
    quarter,
    month,
    month_start,
    day AS day_of_month,
    day_of_week,
    day_name,
    week_of_year,
    is_weekend
FROM $dim_date

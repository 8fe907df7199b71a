-- Every return of a known customer: when it happened and how many units.
SELECT
    customer_id,
    return_date,
    CAST(return_qty AS DOUBLE) AS units
FROM gold.fact_returns
WHERE customer_id IS NOT NULL AND return_date IS NOT NULL

-- Returns per product (docs/gold.md): every product with a revenue line, the units sold and
-- returned, the returned amount in the base currency and the most frequent reason. return_rate
-- is ROUND(units_returned / units_sold, 4) half away from zero, computed exactly on integers:
-- SIGN(n) * FLOOR((2|n| + d) / 2d), the floor taken with MOD so that no DOUBLE is involved.
WITH sold AS (
    SELECT
        product_id,
        SUM(quantity) AS units_sold
    FROM gold.fact_sales
    WHERE is_revenue AND product_id IS NOT NULL
    GROUP BY product_id
),
returned AS (
    SELECT
        product_id,
        SUM(return_qty) AS units_returned,
        -- a return without an exchange rate makes the returned total unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(return_amount_base)
                THEN CAST(SUM(return_amount_base) AS DECIMAL(18, 2))
        END AS return_amount_base
    FROM gold.fact_returns
    GROUP BY product_id
),
reasons AS (
    SELECT
        product_id,
        reason,
        ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY COUNT(*) DESC, reason) AS reason_rank
    FROM gold.fact_returns
    WHERE reason IS NOT NULL
    GROUP BY product_id, reason
),
combined AS (
    SELECT
        s.product_id,
        CAST(s.units_sold AS BIGINT) AS units_sold,
        CAST(COALESCE(r.units_returned, 0) AS BIGINT) AS units_returned,
        CASE
            WHEN r.product_id IS NULL THEN CAST(0 AS DECIMAL(18, 2)) ELSE r.return_amount_base
        END AS return_amount_base,
        tr.reason AS top_reason
    FROM sold AS s
    LEFT JOIN returned AS r
        ON r.product_id = s.product_id
    LEFT JOIN reasons AS tr
        ON tr.product_id = s.product_id AND tr.reason_rank = 1
)
SELECT
    product_id,
    units_sold,
    units_returned,
    CAST(CASE
        WHEN units_sold > 0 THEN CAST(
            SIGN(units_returned) * (
                (2 * ABS(units_returned) * 10000 + units_sold)
                - MOD(2 * ABS(units_returned) * 10000 + units_sold, 2 * units_sold)
            ) / (2 * units_sold) AS BIGINT
        ) * 0.0001
    END AS DECIMAL(18, 4)) AS return_rate,
    return_amount_base,
    top_reason
FROM combined

-- Customer value and RFM segments (docs/gold.md): the customers of customer_features, their
-- lifetime value net of returns, and R, F, M scores as quintiles over all of them.
WITH returned AS (
    SELECT
        customer_id,
        -- a return without an exchange rate makes the returned total unknown, never understated
        CASE
            WHEN COUNT(*) = COUNT(return_amount_base)
                THEN CAST(SUM(return_amount_base) AS DECIMAL(18, 2))
        END AS returned_amount_base
    FROM gold.fact_returns
    GROUP BY customer_id
),
valued AS (
    SELECT
        cf.customer_id,
        CAST(CASE
            WHEN r.customer_id IS NULL THEN cf.monetary
            ELSE cf.monetary - r.returned_amount_base
        END AS DECIMAL(18, 2)) AS lifetime_value,
        cf.frequency AS orders,
        cf.recency_days
    FROM gold.customer_features AS cf
    LEFT JOIN returned AS r
        ON r.customer_id = cf.customer_id
),
scored AS (
    SELECT
        customer_id,
        lifetime_value,
        orders,
        recency_days,
        CAST(NTILE(5) OVER (ORDER BY recency_days DESC, customer_id) AS BIGINT) AS r_score,
        CAST(NTILE(5) OVER (ORDER BY orders ASC, customer_id) AS BIGINT) AS f_score,
        -- an unknown value (a missing exchange rate) scores lowest
        CAST(NTILE(5) OVER (
            ORDER BY lifetime_value ASC NULLS FIRST, customer_id
        ) AS BIGINT) AS m_score
    FROM valued
)
SELECT
    customer_id,
    lifetime_value,
    orders,
    recency_days,
    r_score,
    f_score,
    m_score,
    CASE
        WHEN r_score >= 4 AND f_score >= 4 THEN 'Champions'
        WHEN r_score >= 3 AND f_score >= 3 THEN 'Loyal'
        WHEN r_score >= 4 THEN 'New'
        WHEN r_score <= 2 AND f_score >= 3 THEN 'At risk'
        WHEN r_score <= 2 THEN 'Lost'
        ELSE 'Potential'
    END AS rfm_segment
FROM scored

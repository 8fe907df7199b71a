-- The RFM scores and segment of every customer (gold.customer_value) with the features the
-- clustering reads (gold.customer_features).
SELECT
    v.customer_id,
    v.r_score,
    v.f_score,
    v.m_score,
    v.rfm_segment,
    CAST(f.recency_days AS DOUBLE) AS recency_days,
    CAST(f.frequency AS DOUBLE) AS frequency,
    CAST(COALESCE(v.lifetime_value, 0) AS DOUBLE) AS monetary,
    CAST(f.tenure_days AS DOUBLE) AS tenure_days,
    CAST(COALESCE(f.return_rate, 0) AS DOUBLE) AS return_rate
FROM gold.customer_value AS v
INNER JOIN gold.customer_features AS f
    ON f.customer_id = v.customer_id

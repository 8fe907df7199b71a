-- Lifetime value and RFM segment per customer (gold.customer_value).
SELECT
    customer_id,
    lifetime_value,
    orders,
    recency_days,
    r_score AS recency_score,
    f_score AS frequency_score,
    m_score AS monetary_score,
    rfm_segment AS segment
FROM $customer_value

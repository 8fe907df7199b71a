-- Top 20 customers by lifetime value (net of returns), with their RFM segment and loyalty tier.
-- Reads the gold.customer_value mart, computed over the whole history up to the data's latest
-- order date (its own as_of); names and tier come from the current gold.dim_customer version.
WITH ranked AS (
    SELECT
        RANK() OVER (ORDER BY lifetime_value DESC) AS rank,
        customer_id,
        lifetime_value,
        orders,
        recency_days,
        r_score,
        f_score,
        m_score,
        rfm_segment
    FROM gold.customer_value
)
SELECT
    r.rank,
    r.customer_id,
    c.first_name,
    c.last_name,
    c.loyalty_tier,
    r.lifetime_value,
    r.orders,
    r.recency_days,
    r.r_score,
    r.f_score,
    r.m_score,
    r.rfm_segment
FROM ranked AS r
LEFT JOIN gold.dim_customer AS c
    ON c.customer_id = r.customer_id AND c.is_current
ORDER BY r.lifetime_value DESC NULLS LAST, r.customer_id
LIMIT 20

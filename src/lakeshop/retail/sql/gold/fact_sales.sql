-- One row per order line: the dimension versions valid at the order time, and the line total
-- in the order currency and in the base currency (rate of the order date).
SELECT
    i.order_id,
    i.line_no,
    CAST(o.order_ts AS DATE) AS order_date,
    o.order_ts,
    o.customer_id,
    CASE
        WHEN o.customer_id IS NULL THEN 'guest' -- no customer: a guest checkout
        ELSE COALESCE(dc.customer_sk, '-1')
    END AS customer_sk,
    i.product_id,
    COALESCE(dp.product_sk, '-1') AS product_sk,
    o.store_id,
    COALESCE(ds.store_sk, '-1') AS store_sk,
    o.channel,
    o.currency,
    i.item_status,
    i.item_status <> 'cancelled' AS is_revenue,
    i.quantity,
    i.unit_price,
    i.discount_amount,
    i.tax_amount,
    CAST(
        i.quantity * i.unit_price - i.discount_amount + i.tax_amount AS DECIMAL(18, 2)
    ) AS sales_total,
    fx.rate_to_base AS fx_rate,
    -- the line total is cast to DECIMAL(18, 2) (it has two decimals) before the rate: an
    -- exact product of DECIMAL(18, 2) and DECIMAL(18, 6) fits in 38 digits on every engine,
    -- where Spark would round the wider product to 6 decimals first and round twice
    CAST(ROUND(
        CAST(i.quantity * i.unit_price - i.discount_amount + i.tax_amount AS DECIMAL(18, 2))
        * fx.rate_to_base,
        2
    ) AS DECIMAL(18, 2)) AS sales_total_base,
    i.shipped_at,
    i.delivered_at,
    i.updated_at
FROM silver.order_items AS i
INNER JOIN silver.orders AS o
    ON o.order_id = i.order_id
LEFT JOIN gold.dim_customer AS dc
    ON dc.customer_id = o.customer_id
    AND o.order_ts >= dc.valid_from
    AND o.order_ts < dc.valid_to
LEFT JOIN gold.dim_product AS dp
    ON dp.product_id = i.product_id
    AND o.order_ts >= dp.valid_from
    AND o.order_ts < dp.valid_to
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = o.store_id
LEFT JOIN gold.fx_daily AS fx
    ON fx.currency = o.currency AND fx.rate_day = CAST(o.order_ts AS DATE)

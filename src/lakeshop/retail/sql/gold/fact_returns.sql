-- One row per return: the returned line's product, the order's customer and store, the
-- versions valid at the return time, amounts in the order currency and the base currency.
SELECT
    r.return_id,
    r.order_id,
    r.line_no,
    CAST(r.returned_at AS DATE) AS return_date,
    r.returned_at,
    o.customer_id,
    CASE
        WHEN o.order_id IS NOT NULL AND o.customer_id IS NULL THEN 'guest' -- no customer: a guest checkout
        ELSE COALESCE(dc.customer_sk, '-1')
    END AS customer_sk,
    i.product_id,
    COALESCE(dp.product_sk, '-1') AS product_sk,
    o.store_id,
    COALESCE(ds.store_sk, '-1') AS store_sk,
    o.channel,
    o.currency,
    r.return_qty,
    r.return_amount,
    fx.rate_to_base AS fx_rate,
    CAST(ROUND(r.return_amount * fx.rate_to_base, 2) AS DECIMAL(18, 2)) AS return_amount_base,
    r.reason
FROM silver.returns AS r
LEFT JOIN silver.order_items AS i
    ON i.order_id = r.order_id AND i.line_no = r.line_no
LEFT JOIN silver.orders AS o
    ON o.order_id = r.order_id
LEFT JOIN gold.dim_customer AS dc
    ON dc.customer_id = o.customer_id
    AND r.returned_at >= dc.valid_from
    AND r.returned_at < dc.valid_to
LEFT JOIN gold.dim_product AS dp
    ON dp.product_id = i.product_id
    AND r.returned_at >= dp.valid_from
    AND r.returned_at < dp.valid_to
LEFT JOIN gold.dim_store AS ds
    ON ds.store_id = o.store_id
LEFT JOIN gold.fx_daily AS fx
    ON fx.currency = o.currency AND fx.rate_day = CAST(r.returned_at AS DATE)

-- One row per return: the returned line's product, the order's customer and store, the
-- versions valid at the return time, amounts in the order currency and the base currency.
-- Credit notes are returns too: each credit-note line of gold.fact_sales is a return of
-- |quantity| for |line total|, dated at its order's time, with return_id
-- 'credit:<order_id>:<line_no>' (docs/gold.md). Amounts without a rate are flagged fx_missing.
WITH returned AS (
    SELECT
        r.return_id,
        r.order_id,
        r.line_no,
        CAST(r.returned_at AS DATE) AS return_date,
        r.returned_at,
        o.customer_id,
        CASE
            WHEN o.order_id IS NOT NULL AND o.customer_id IS NULL THEN 'guest' -- a guest checkout
            ELSE COALESCE(dc.customer_sk, '-1')
        END AS customer_sk,
        i.product_id,
        COALESCE(dp.product_sk, '-1') AS product_sk,
        o.store_id,
        COALESCE(ds.store_sk, '-1') AS store_sk,
        o.channel,
        COALESCE(o.currency, ds.currency, $base_currency) AS currency,
        r.return_qty,
        r.return_amount,
        CASE
            WHEN COALESCE(o.currency, ds.currency, $base_currency) = $base_currency
                THEN CAST(1 AS DECIMAL(18, 6))
            ELSE fx.rate_to_base
        END AS fx_rate,
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
        ON fx.currency = COALESCE(o.currency, ds.currency, $base_currency)
        AND fx.rate_day = CAST(r.returned_at AS DATE)
)
SELECT
    return_id,
    order_id,
    line_no,
    return_date,
    returned_at,
    customer_id,
    customer_sk,
    product_id,
    product_sk,
    store_id,
    store_sk,
    channel,
    currency,
    return_qty,
    return_amount,
    fx_rate,
    CAST(ROUND(return_amount * fx_rate, 2) AS DECIMAL(18, 2)) AS return_amount_base,
    reason,
    FALSE AS is_credit_note,
    fx_rate IS NULL AS fx_missing
FROM returned
UNION ALL
SELECT
    'credit:' || order_id || ':' || CAST(line_no AS VARCHAR) AS return_id,
    order_id,
    line_no,
    order_date AS return_date,
    order_ts AS returned_at,
    customer_id,
    customer_sk,
    product_id,
    product_sk,
    store_id,
    store_sk,
    channel,
    currency,
    CAST(ABS(quantity) AS INTEGER) AS return_qty,
    CAST(ABS(sales_total) AS DECIMAL(18, 2)) AS return_amount,
    fx_rate,
    CAST(ABS(sales_total_base) AS DECIMAL(18, 2)) AS return_amount_base,
    'credit note' AS reason,
    TRUE AS is_credit_note,
    fx_missing
FROM gold.fact_sales
WHERE is_credit_note

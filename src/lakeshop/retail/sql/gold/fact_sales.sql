-- One row per order line: the dimension versions valid at the order time, and the line total
-- in the order currency and in the base currency (rate of the order date; the base currency
-- $base_currency at 1). An order without a currency is in its store's currency, else in the
-- base currency. A line is revenue unless it is cancelled or a credit note (a line without a
-- status counts); a line in a currency without a rate keeps its amounts, flagged fx_missing.
WITH lines AS (
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
        COALESCE(o.currency, ds.currency, $base_currency) AS currency,
        i.item_status,
        NOT i.is_credit_note AND COALESCE(i.item_status, '') <> 'cancelled' AS is_revenue,
        i.quantity,
        i.unit_price,
        i.discount_amount,
        i.tax_amount,
        CAST(
            i.quantity * i.unit_price - i.discount_amount + i.tax_amount AS DECIMAL(18, 2)
        ) AS sales_total,
        CASE
            WHEN COALESCE(o.currency, ds.currency, $base_currency) = $base_currency
                THEN CAST(1 AS DECIMAL(18, 6))
            ELSE fx.rate_to_base
        END AS fx_rate,
        i.shipped_at,
        i.delivered_at,
        i.updated_at,
        i.is_credit_note,
        i.freight_amount,
        i.seller_id,
        COALESCE(dsl.seller_sk, '-1') AS seller_sk
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
    LEFT JOIN gold.dim_seller AS dsl
        ON dsl.seller_id = i.seller_id
    LEFT JOIN gold.fx_daily AS fx
        ON fx.currency = COALESCE(o.currency, ds.currency, $base_currency)
        AND fx.rate_day = CAST(o.order_ts AS DATE)
)
SELECT
    order_id,
    line_no,
    order_date,
    order_ts,
    customer_id,
    customer_sk,
    product_id,
    product_sk,
    store_id,
    store_sk,
    channel,
    currency,
    item_status,
    is_revenue,
    quantity,
    unit_price,
    discount_amount,
    tax_amount,
    sales_total,
    fx_rate,
    -- the line total has two decimals (DECIMAL(18, 2)) before the rate: an exact product of
    -- DECIMAL(18, 2) and DECIMAL(18, 6) fits in 38 digits on every engine, where Spark would
    -- round the wider product to 6 decimals first and round twice
    CAST(ROUND(sales_total * fx_rate, 2) AS DECIMAL(18, 2)) AS sales_total_base,
    shipped_at,
    delivered_at,
    updated_at,
    is_credit_note,
    freight_amount,
    CAST(ROUND(freight_amount * fx_rate, 2) AS DECIMAL(18, 2)) AS freight_base,
    fx_rate IS NULL AS fx_missing,
    seller_id,
    seller_sk
FROM lines

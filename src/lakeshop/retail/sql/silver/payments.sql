-- Payments: immutable events, one row per payment_id.
SELECT
    lakeshop_key(payment_id) AS payment_id,
    lakeshop_key(order_id) AS order_id,
    LOWER(NULLIF(TRIM(payment_type), '')) AS payment_type,
    LOWER(NULLIF(TRIM(card_brand), '')) AS card_brand,
    TRY_CAST(NULLIF(TRIM(amount), '') AS DECIMAL(18, 2)) AS amount,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    LOWER(NULLIF(TRIM(status), '')) AS status,
    -- absent: NULL here; gold.fact_payments takes the order's time
    lakeshop_utc_timestamp(NULLIF(TRIM(transaction_ts), ''), $timezone) AS transaction_ts,
    TRY_CAST(NULLIF(TRIM(installments), '') AS INTEGER) AS installments,
    NULLIF(TRIM(amount), '') AS _raw_amount,
    NULLIF(TRIM(transaction_ts), '') AS _raw_transaction_ts,
    NULLIF(TRIM(installments), '') AS _raw_installments,
    _source_file,
    _source_row
FROM bronze.payments

-- Refunds: immutable events against a payment.
SELECT
    lakeshop_key(refund_id) AS refund_id,
    lakeshop_key(payment_id) AS payment_id,
    TRY_CAST(NULLIF(TRIM(amount), '') AS DECIMAL(18, 2)) AS amount,
    NULLIF(TRIM(reason), '') AS reason,
    LOWER(NULLIF(TRIM(status), '')) AS status,
    lakeshop_utc_timestamp(NULLIF(TRIM(refund_ts), ''), $timezone) AS refund_ts,
    NULLIF(TRIM(amount), '') AS _raw_amount,
    NULLIF(TRIM(refund_ts), '') AS _raw_refund_ts,
    _source_file,
    _source_row
FROM bronze.refunds

-- Returns: a quantity of one order line coming back (line_no may be absent: the order only).
SELECT
    lakeshop_key(return_id) AS return_id,
    lakeshop_key(order_id) AS order_id,
    TRY_CAST(NULLIF(TRIM(line_no), '') AS INTEGER) AS line_no,
    TRY_CAST(NULLIF(TRIM(return_qty), '') AS INTEGER) AS return_qty,
    TRY_CAST(NULLIF(TRIM(return_amount), '') AS DECIMAL(18, 2)) AS return_amount,
    NULLIF(TRIM(reason), '') AS reason,
    lakeshop_utc_timestamp(NULLIF(TRIM(returned_at), ''), $timezone) AS returned_at,
    NULLIF(TRIM(line_no), '') AS _raw_line_no,
    NULLIF(TRIM(return_qty), '') AS _raw_return_qty,
    NULLIF(TRIM(return_amount), '') AS _raw_return_amount,
    NULLIF(TRIM(returned_at), '') AS _raw_returned_at,
    _source_file,
    _source_row
FROM bronze.returns

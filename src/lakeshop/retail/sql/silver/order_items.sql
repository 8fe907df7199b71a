-- Order lines: quantities and amounts typed; the latest status per (order_id, line_no) wins.
-- A line without line_no is numbered within its order when no line of that order in the same
-- delivery (file and delivery time) has one: by product, price, quantity, discount, tax,
-- freight, seller, then its row in the file — the same number whatever the order of the rows
-- in the file, and on every re-delivery of the same lines (docs/gold.md).
-- A line is a credit note by the project's rule ($credit_note_rule: a negative quantity, an
-- order id matching credit_notes.order_id_pattern).
SELECT
    order_id,
    CASE
        WHEN raw_line_no IS NOT NULL THEN TRY_CAST(raw_line_no AS INTEGER)
        WHEN COUNT(raw_line_no) OVER (PARTITION BY order_id, _source_file, _delivered_at) = 0
            THEN CAST(ROW_NUMBER() OVER (
                PARTITION BY order_id, _source_file, _delivered_at
                ORDER BY
                    product_id NULLS LAST, unit_price NULLS LAST, quantity NULLS LAST,
                    discount_amount, tax_amount, freight_amount, seller_id NULLS LAST,
                    _source_row
            ) AS INTEGER)
    END AS line_no,
    product_id,
    quantity,
    unit_price,
    discount_amount,
    tax_amount,
    freight_amount,
    seller_id,
    item_status,
    $credit_note_rule AS is_credit_note,
    shipped_at,
    delivered_at,
    updated_at,
    raw_line_no AS _raw_line_no,
    _raw_quantity,
    _raw_unit_price,
    _raw_discount_amount,
    _raw_tax_amount,
    _raw_freight_amount,
    _raw_shipped_at,
    _raw_delivered_at,
    _raw_updated_at,
    _source_file,
    _source_row
FROM (
    SELECT
        NULLIF(TRIM(order_id), '') AS order_id,
        NULLIF(TRIM(line_no), '') AS raw_line_no,
        NULLIF(TRIM(product_id), '') AS product_id,
        TRY_CAST(NULLIF(TRIM(quantity), '') AS INTEGER) AS quantity,
        TRY_CAST(NULLIF(TRIM(unit_price), '') AS DECIMAL(18, 2)) AS unit_price,
        COALESCE(TRY_CAST(NULLIF(TRIM(discount_amount), '') AS DECIMAL(18, 2)), 0) AS discount_amount,
        COALESCE(TRY_CAST(NULLIF(TRIM(tax_amount), '') AS DECIMAL(18, 2)), 0) AS tax_amount,
        COALESCE(TRY_CAST(NULLIF(TRIM(freight_amount), '') AS DECIMAL(18, 2)), 0) AS freight_amount,
        NULLIF(TRIM(seller_id), '') AS seller_id,
        LOWER(NULLIF(TRIM(item_status), '')) AS item_status,
        lakeshop_utc_timestamp(NULLIF(TRIM(shipped_at), ''), $timezone) AS shipped_at,
        lakeshop_utc_timestamp(NULLIF(TRIM(delivered_at), ''), $timezone) AS delivered_at,
        -- absent: the file's delivery time (its modified time as first logged)
        CASE
            WHEN NULLIF(TRIM(updated_at), '') IS NULL THEN _delivered_at
            ELSE lakeshop_utc_timestamp(NULLIF(TRIM(updated_at), ''), $timezone)
        END AS updated_at,
        NULLIF(TRIM(quantity), '') AS _raw_quantity,
        NULLIF(TRIM(unit_price), '') AS _raw_unit_price,
        NULLIF(TRIM(discount_amount), '') AS _raw_discount_amount,
        NULLIF(TRIM(tax_amount), '') AS _raw_tax_amount,
        NULLIF(TRIM(freight_amount), '') AS _raw_freight_amount,
        NULLIF(TRIM(shipped_at), '') AS _raw_shipped_at,
        NULLIF(TRIM(delivered_at), '') AS _raw_delivered_at,
        NULLIF(TRIM(updated_at), '') AS _raw_updated_at,
        _source_file,
        _source_row,
        _delivered_at
    FROM bronze.order_items
) AS typed

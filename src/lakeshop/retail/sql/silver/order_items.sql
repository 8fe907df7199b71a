-- Order lines: quantities and amounts typed; the latest status per (order_id, line_no) wins.
-- A line without line_no is numbered within its order when no line of that order in the same
-- delivery (file and delivery time) has one: by product, price, quantity, discount, tax,
-- freight, seller, then its row in the file — the same number whatever the order of the rows
-- in the file, and on every re-delivery of the same lines (docs/gold.md).
-- A line is a credit note by the project's rule ($credit_note_rule: a negative quantity, an
-- order id matching credit_notes.order_id_pattern).
-- Only the lines of orders that have an unnumbered line go through the numbering window (few or
-- none in most exports), so every other line streams through without a sort or a spill. A line
-- without an order id is never numbered (it is quarantined for its missing order id anyway).
SELECT
    typed.order_id,
    COALESCE(TRY_CAST(typed.raw_line_no AS INTEGER), numbering.line_no) AS line_no,
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
    typed._source_file,
    typed._source_row
FROM (
    SELECT
        lakeshop_key(order_id) AS order_id,
        NULLIF(TRIM(line_no), '') AS raw_line_no,
        lakeshop_key(product_id) AS product_id,
        TRY_CAST(NULLIF(TRIM(quantity), '') AS INTEGER) AS quantity,
        TRY_CAST(NULLIF(TRIM(unit_price), '') AS DECIMAL(18, 2)) AS unit_price,
        COALESCE(TRY_CAST(NULLIF(TRIM(discount_amount), '') AS DECIMAL(18, 2)), 0) AS discount_amount,
        COALESCE(TRY_CAST(NULLIF(TRIM(tax_amount), '') AS DECIMAL(18, 2)), 0) AS tax_amount,
        COALESCE(TRY_CAST(NULLIF(TRIM(freight_amount), '') AS DECIMAL(18, 2)), 0) AS freight_amount,
        lakeshop_key(seller_id) AS seller_id,
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
LEFT JOIN (
    SELECT
        _source_file,
        _source_row,
        _delivered_at,
        CAST(ROW_NUMBER() OVER (
            PARTITION BY order_id, _source_file, _delivered_at
            ORDER BY
                product_id NULLS LAST, unit_price NULLS LAST, quantity NULLS LAST,
                discount_amount, tax_amount, freight_amount, seller_id NULLS LAST,
                _source_row
        ) AS INTEGER) AS line_no
    FROM (
        -- the lines of those orders, typed as above for the order of numbering
        SELECT
            lakeshop_key(order_id) AS order_id,
            NULLIF(TRIM(line_no), '') AS raw_line_no,
            lakeshop_key(product_id) AS product_id,
            TRY_CAST(NULLIF(TRIM(quantity), '') AS INTEGER) AS quantity,
            TRY_CAST(NULLIF(TRIM(unit_price), '') AS DECIMAL(18, 2)) AS unit_price,
            COALESCE(TRY_CAST(NULLIF(TRIM(discount_amount), '') AS DECIMAL(18, 2)), 0) AS discount_amount,
            COALESCE(TRY_CAST(NULLIF(TRIM(tax_amount), '') AS DECIMAL(18, 2)), 0) AS tax_amount,
            COALESCE(TRY_CAST(NULLIF(TRIM(freight_amount), '') AS DECIMAL(18, 2)), 0) AS freight_amount,
            lakeshop_key(seller_id) AS seller_id,
            COUNT(NULLIF(TRIM(line_no), '')) OVER (
                PARTITION BY lakeshop_key(order_id), _source_file, _delivered_at
            ) AS numbered_in_delivery,
            _source_file,
            _source_row,
            _delivered_at
        FROM bronze.order_items
        WHERE lakeshop_key(order_id) IN (
            SELECT lakeshop_key(order_id) FROM bronze.order_items
            WHERE NULLIF(TRIM(line_no), '') IS NULL
        )
    ) AS lines_of_unnumbered_orders
    WHERE raw_line_no IS NULL AND numbered_in_delivery = 0
) AS numbering
    ON numbering._source_file = typed._source_file
    AND numbering._source_row = typed._source_row
    AND numbering._delivered_at = typed._delivered_at

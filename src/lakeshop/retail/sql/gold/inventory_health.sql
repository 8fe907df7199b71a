-- Inventory health per store and product (docs/gold.md): the latest snapshot, stock-outs and
-- sales in the 30 days ending at as_of (the latest order date in silver.orders, never the wall
-- clock: a date d is in the window when d > as_of - 30), and days of cover. Rounding is half
-- away from zero and exact: ROUND(n / d) of integers is FLOOR((2n + d) / 2d) for n >= 0, the
-- floor taken with MOD so that no DOUBLE rounding is involved.
WITH as_of AS (
    SELECT MAX(CAST(order_ts AS DATE)) AS as_of
    FROM silver.orders
),
snapshots AS (
    SELECT
        v.store_id,
        v.product_id,
        v.snapshot_date,
        v.on_hand_qty,
        v.reorder_point,
        ROW_NUMBER() OVER (
            PARTITION BY v.store_id, v.product_id ORDER BY v.snapshot_date DESC
        ) AS recency,
        SUM(CASE
            WHEN v.on_hand_qty = 0 AND DATE_DIFF('day', v.snapshot_date, a.as_of) < 30 THEN 1
            ELSE 0
        END) OVER (PARTITION BY v.store_id, v.product_id) AS stock_out_days
    FROM gold.fact_inventory AS v
    CROSS JOIN as_of AS a
),
sold AS (
    SELECT
        s.store_id,
        s.product_id,
        SUM(s.quantity) AS units_sold_30d
    FROM gold.fact_sales AS s
    CROSS JOIN as_of AS a
    WHERE s.is_revenue AND DATE_DIFF('day', s.order_date, a.as_of) < 30
    GROUP BY s.store_id, s.product_id
),
latest AS (
    SELECT
        v.store_id,
        v.product_id,
        v.snapshot_date AS last_snapshot_date,
        v.on_hand_qty,
        v.reorder_point,
        CAST(v.stock_out_days AS BIGINT) AS stock_out_days,
        CAST(COALESCE(s.units_sold_30d, 0) AS BIGINT) AS units_sold_30d
    FROM snapshots AS v
    LEFT JOIN sold AS s
        ON s.store_id = v.store_id AND s.product_id = v.product_id
    WHERE v.recency = 1
),
averaged AS (
    SELECT
        *,
        -- ROUND(units_sold_30d / 30, 4), in 1/10000 units
        CAST((
            (2 * units_sold_30d * 10000 + 30)
            - MOD(2 * units_sold_30d * 10000 + 30, 60)
        ) / 60 AS BIGINT) AS avg_daily_units_e4
    FROM latest
)
SELECT
    store_id,
    product_id,
    last_snapshot_date,
    CAST(on_hand_qty AS BIGINT) AS on_hand_qty,
    CAST(reorder_point AS BIGINT) AS reorder_point,
    stock_out_days,
    units_sold_30d,
    CAST(avg_daily_units_e4 * 0.0001 AS DECIMAL(18, 4)) AS avg_daily_units,
    -- ROUND(on_hand_qty / avg_daily_units, 1) = ROUND(on_hand_qty * 10000 / avg_daily_units_e4, 1)
    CAST(CASE
        WHEN units_sold_30d > 0 AND avg_daily_units_e4 > 0 THEN CAST(
            SIGN(on_hand_qty) * (
                (2 * ABS(CAST(on_hand_qty AS BIGINT)) * 100000 + avg_daily_units_e4)
                - MOD(
                    2 * ABS(CAST(on_hand_qty AS BIGINT)) * 100000 + avg_daily_units_e4,
                    2 * avg_daily_units_e4
                )
            ) / (2 * avg_daily_units_e4) AS BIGINT
        ) * 0.1
    END AS DECIMAL(18, 1)) AS days_of_cover,
    on_hand_qty <= reorder_point AS needs_reorder
FROM averaged

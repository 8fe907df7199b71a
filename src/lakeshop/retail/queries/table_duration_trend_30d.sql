-- Duration trend per table over the 30 days ending at as_of (default: the newest run's day).
-- From _system.events, the table's successful executions (status ok) in runs started in the
-- window: how many, average, latest and longest duration, the average over the last 7 days
-- against the days before (change_pct, NULL without both), and the least-squares slope of the
-- duration over its executions in order (seconds_per_run: > 0 when each run takes longer).
WITH executions AS (
    SELECT
        table_name,
        run_id,
        started_at,
        duration_s,
        rows_in,
        ROW_NUMBER() OVER (PARTITION BY table_name ORDER BY started_at, run_id) AS seq,
        CAST(started_at AS DATE) > $as_of - 7 AS recent
    FROM _system.events
    WHERE
        status = 'ok'
        AND CAST(started_at AS DATE) > $as_of - 30
        AND CAST(started_at AS DATE) <= $as_of
),
per_table AS (
    SELECT
        table_name,
        COUNT(*) AS runs,
        AVG(duration_s) AS avg_s,
        ARG_MAX(duration_s, seq) AS latest_s,
        MAX(duration_s) AS max_s,
        AVG(duration_s) FILTER (WHERE recent) AS avg_7d_s,
        AVG(duration_s) FILTER (WHERE NOT recent) AS avg_before_s,
        REGR_SLOPE(duration_s, seq) AS slope,
        CAST(AVG(rows_in) AS BIGINT) AS avg_rows_in
    FROM executions
    GROUP BY table_name
)
SELECT
    table_name,
    runs,
    CAST(ROUND(avg_s, 3) AS DECIMAL(12, 3)) AS avg_duration_s,
    CAST(ROUND(latest_s, 3) AS DECIMAL(12, 3)) AS latest_duration_s,
    CAST(ROUND(max_s, 3) AS DECIMAL(12, 3)) AS max_duration_s,
    CAST(ROUND(avg_7d_s, 3) AS DECIMAL(12, 3)) AS avg_7d_s,
    CAST(ROUND(avg_before_s, 3) AS DECIMAL(12, 3)) AS avg_before_s,
    CAST(CASE
        WHEN avg_before_s > 0 THEN ROUND((avg_7d_s - avg_before_s) / avg_before_s * 100, 2)
    END AS DECIMAL(12, 2)) AS change_pct,
    -- one execution has no slope (REGR_SLOPE gives NaN)
    CAST(CASE WHEN runs > 1 THEN ROUND(slope, 4) END AS DECIMAL(12, 4)) AS seconds_per_run,
    avg_rows_in
FROM per_table
ORDER BY avg_s DESC, table_name

-- Runs started in the $days days up to the newest run, oldest first: status (the ending row's,
-- else running), wall-clock duration, and the seconds its tables took per layer (schema).
WITH newest AS (
    SELECT MAX(started_at) AS at FROM _system.runs
),
per_run AS (
    SELECT
        run_id,
        MIN(started_at) AS started_at,
        MAX(ended_at) AS ended_at,
        COALESCE(MAX(CASE WHEN status <> 'running' THEN status END), 'running') AS status
    FROM _system.runs
    GROUP BY run_id
),
layers AS (
    SELECT
        run_id,
        SUM(duration_s) FILTER (WHERE split_part(table_name, '.', 1) = 'bronze') AS bronze_s,
        SUM(duration_s) FILTER (WHERE split_part(table_name, '.', 1) = 'silver') AS silver_s,
        SUM(duration_s) FILTER (WHERE split_part(table_name, '.', 1) = 'gold') AS gold_s
    FROM _system.events
    GROUP BY run_id
)
SELECT
    r.run_id,
    r.started_at,
    r.status,
    CAST(epoch_ms(r.ended_at) - epoch_ms(r.started_at) AS DOUBLE) / 1000 AS duration_s,
    COALESCE(l.bronze_s, 0) AS bronze_s,
    COALESCE(l.silver_s, 0) AS silver_s,
    COALESCE(l.gold_s, 0) AS gold_s
FROM per_run AS r
CROSS JOIN newest
LEFT JOIN layers AS l ON l.run_id = r.run_id
WHERE r.started_at > newest.at - to_days($days)
ORDER BY r.started_at, r.run_id

-- Share of the runs ended within window_hours before the latest run's end that did not succeed
-- (failed or aborted), from _system.runs; fires above the ceiling once enough runs ended.
-- A run stopped by a signal (interrupted) is an operator's choice, not a failure, and resumes
-- on the next run: it counts on neither side.
WITH ended AS (
    SELECT run_id, ANY_VALUE(status) AS status, MAX(ended_at) AS ended_at
    FROM _system.runs
    WHERE status IN ('ok', 'failed', 'aborted')
    GROUP BY run_id
),
clock AS (
    SELECT MAX(ended_at) AS now FROM ended
),
recent AS (
    SELECT e.status
    FROM ended AS e
    CROSS JOIN clock AS c
    WHERE date_diff('second', e.ended_at, c.now) < $window_hours * 3600
),
measured AS (
    SELECT
        'total' AS scope,
        COUNT(*) AS runs,
        COUNT(*) FILTER (WHERE status <> 'ok') AS failed,
        CAST(COUNT(*) FILTER (WHERE status <> 'ok') AS DOUBLE) / COUNT(*) AS value,
        CAST($max_rate AS DOUBLE) AS threshold,
        (SELECT now FROM clock) AS clock
    FROM recent
)
SELECT scope, value, threshold, runs, failed, clock
FROM measured
WHERE runs >= $min_runs AND value > threshold

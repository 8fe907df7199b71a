-- Pipeline runs per day over the 30 days ending at as_of (default: the newest run's day): success rate.
-- A run writes one row to _system.runs when it starts and one when it ends; its status is the
-- ending row's (ok, failed, aborted), or running while it has none. Days are run start dates
-- (UTC) with at least one run. success_rate = ok / (ok + failed + aborted), NULL when no run
-- of the day has ended.
WITH final AS (
    SELECT
        run_id,
        MIN(started_at) AS started_at,
        COALESCE(MAX(CASE WHEN status <> 'running' THEN status END), 'running') AS status
    FROM _system.runs
    GROUP BY run_id
),
per_day AS (
    SELECT
        CAST(started_at AS DATE) AS run_date,
        COUNT(*) AS runs,
        COUNT(*) FILTER (WHERE status = 'ok') AS ok,
        COUNT(*) FILTER (WHERE status = 'failed') AS failed,
        COUNT(*) FILTER (WHERE status = 'aborted') AS aborted,
        COUNT(*) FILTER (WHERE status = 'running') AS running
    FROM final
    WHERE
        CAST(started_at AS DATE) > $as_of - 30
        AND CAST(started_at AS DATE) <= $as_of
    GROUP BY CAST(started_at AS DATE)
)
SELECT
    run_date,
    runs,
    ok,
    failed,
    aborted,
    running,
    CAST(CASE
        WHEN ok + failed + aborted > 0 THEN ROUND(ok / (ok + failed + aborted), 4)
    END AS DECIMAL(5, 4)) AS success_rate
FROM per_day
ORDER BY run_date

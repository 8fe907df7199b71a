-- Expectation pass rates over the runs started in the $days days up to the newest run, from
-- _system.expectations: rows passed and failed summed over those runs, per table and
-- expectation; only expectations that saw rows.
WITH newest AS (
    SELECT MAX(started_at) AS at FROM _system.runs
),
recent AS (
    SELECT run_id
    FROM _system.runs
    CROSS JOIN newest
    GROUP BY run_id, newest.at
    HAVING MIN(started_at) > newest.at - to_days($days)
)
SELECT
    table_name,
    expectation,
    action,
    CAST(SUM(passed) AS BIGINT) AS passed,
    CAST(SUM(failed) AS BIGINT) AS failed,
    CAST(SUM(passed) AS DOUBLE) / (SUM(passed) + SUM(failed)) AS pass_rate
FROM _system.expectations
WHERE run_id IN (SELECT run_id FROM recent)
GROUP BY table_name, expectation, action
HAVING SUM(passed) + SUM(failed) > 0
ORDER BY pass_rate, failed DESC, table_name, expectation

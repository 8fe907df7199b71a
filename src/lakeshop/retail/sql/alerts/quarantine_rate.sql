-- Per table, the share of a run's input rows that went to quarantine (or, for bronze, to the
-- rejects), from _system.events of the run given by run_id (default: the latest run); fires
-- above the ceiling for tables that read at least min_rows rows.
WITH chosen AS (
    SELECT COALESCE($run_id, (SELECT MAX(run_id) FROM _system.events)) AS run_id
),
measured AS (
    SELECT
        'table=' || e.table_name AS scope,
        CAST(e.rows_quarantined AS DOUBLE) / e.rows_in AS value,
        CAST($max_rate AS DOUBLE) AS threshold,
        e.rows_in,
        e.rows_quarantined,
        e.run_id
    FROM _system.events AS e
    JOIN chosen AS c ON c.run_id = e.run_id
    WHERE e.rows_in >= $min_rows
)
SELECT scope, value, threshold, rows_in, rows_quarantined, run_id
FROM measured
WHERE value > threshold
ORDER BY scope

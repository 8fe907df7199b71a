-- Quarantine rate over the last $runs runs: per run, for each table in scope and over all of
-- them ('all <schema>'), the rows its checks sent to quarantine (for bronze: lines rejected)
-- over the rows it read, from _system.events. Only executions that read rows count.
-- Scope: the table $table, or when $table is '' every table of the schema $schema.
WITH scoped AS (
    SELECT run_id, started_at, table_name, rows_in, rows_quarantined
    FROM _system.events
    WHERE
        status = 'ok'
        AND rows_in > 0
        AND (table_name = $table OR ($table = '' AND split_part(table_name, '.', 1) = $schema))
),
recent AS (
    SELECT run_id
    FROM scoped
    GROUP BY run_id
    ORDER BY MIN(started_at) DESC, run_id DESC
    LIMIT $runs
),
rates AS (
    SELECT
        run_id,
        MIN(started_at) AS started_at,
        CASE WHEN GROUPING(table_name) = 1 THEN 'all ' || $schema ELSE table_name END AS table_name,
        GROUPING(table_name) AS is_total,
        CAST(SUM(rows_in) AS BIGINT) AS rows_in,
        CAST(SUM(rows_quarantined) AS BIGINT) AS rows_quarantined,
        CAST(SUM(rows_quarantined) AS DOUBLE) / SUM(rows_in) AS quarantine_rate
    FROM scoped
    WHERE run_id IN (SELECT run_id FROM recent)
    GROUP BY GROUPING SETS ((run_id, table_name), (run_id))
)
SELECT
    run_id,
    started_at,
    table_name,
    is_total = 1 AS is_total,
    rows_in,
    rows_quarantined,
    CAST(ROUND(quarantine_rate, 6) AS DOUBLE) AS quarantine_rate
FROM rates
ORDER BY started_at, run_id, is_total DESC, table_name

-- Up to $rows rows that run $run_id sent to the quarantine of $table, with the expectations
-- each failed. The row itself is kept as JSON (quarantines of different tables have different
-- columns); its bookkeeping columns (_source_file, _source_row …) are read from it, NULL when a
-- table has none.
SELECT
    $table AS table_name,
    json_extract_string(j, '$._source_file') AS source_file,
    CAST(json_extract_string(j, '$._source_row') AS BIGINT) AS source_row,
    array_to_string(failed, ', ') AS failed_expectations,
    j AS row_json
FROM (
    SELECT
        CAST(to_json(q) AS VARCHAR) AS j,
        q._failed_expectations AS failed
    FROM $quarantine AS q
    WHERE q._run_id = $run_id
)
ORDER BY source_file NULLS LAST, source_row NULLS LAST, j
LIMIT $rows

-- Up to $rows lines that run $run_id could not parse into the ingest table $table (kept in
-- $rejects with their text and the reason), in the shape of quarantined_sample.sql.
SELECT
    $table AS table_name,
    _source_file AS source_file,
    _source_row AS source_row,
    'malformed line: ' || reason AS failed_expectations,
    CAST(to_json(line_text) AS VARCHAR) AS row_json
FROM $rejects
WHERE _run_id = $run_id
ORDER BY source_file, source_row
LIMIT $rows

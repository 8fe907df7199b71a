-- The object lines' values as text: one JSON parse per line extracts every key (a list of
-- JSON pointers) into a list, which the columns take apart ("v[1] AS c0, " ...).
SELECT $columns _source_row
FROM (
    SELECT json_extract_string(line, CAST($paths AS VARCHAR[])) AS v, _source_row
    FROM __jsonl
    WHERE reason IS NULL
)
ORDER BY _source_row

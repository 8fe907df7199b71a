-- Every key of the object lines, with the first line holding it (for error messages).
SELECT k, min(_source_row)
FROM (SELECT _source_row, unnest(json_keys(line)) AS k FROM __jsonl WHERE reason IS NULL)
GROUP BY k
ORDER BY k

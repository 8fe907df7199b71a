-- The lines that are not JSON objects, with their text and the reason.
SELECT _source_row, line AS line_text, reason
FROM __jsonl
WHERE reason IS NOT NULL
ORDER BY _source_row

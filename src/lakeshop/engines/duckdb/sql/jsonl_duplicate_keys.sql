-- Object lines naming a key twice are rejected: JSON parsers disagree on which value counts
-- (DuckDB keeps the first, Python and JavaScript the last), so such a line means nothing sure.
UPDATE __jsonl SET reason = 'duplicate key in the object'
WHERE reason IS NULL AND len(json_keys(line)) <> len(list_distinct(json_keys(line)))

-- Staged lines and whether any holds a NUL character (a file to decode in Python, which
-- decides whether it is binary).
SELECT count(*), coalesce(bool_or(contains(line, chr(0))), false) FROM __jsonl

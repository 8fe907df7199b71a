-- The non-blank lines of a JSON-lines text (the source: one row, column content), staged once:
-- _source_row is the physical line number (lines end at '\n'; trailing '\r's and a leading
-- BOM are dropped), reason is NULL for a JSON object, else why the line is rejected.
SELECT
    _source_row,
    line,
    -- CASE evaluates json_type only on valid JSON (it raises on anything else), and only
    -- where the first character does not already say: valid JSON starting with '{' is an object
    CASE
        WHEN NOT json_valid(line) THEN 'malformed JSON'
        WHEN starts_with(line, '{') THEN NULL
        WHEN json_type(line) <> 'OBJECT' THEN 'not a JSON object'
    END AS reason
FROM (
    SELECT
        _source_row,
        -- rtrim copies the string: only where there is something to trim
        CASE
            WHEN _source_row = 1 THEN rtrim(ltrim(line, chr(65279)), chr(13))
            WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13))
            ELSE line
        END AS line
    FROM (
        SELECT unnest(lines) AS line, generate_subscripts(lines, 1)::BIGINT AS _source_row
        FROM (SELECT string_split(content, chr(10)) AS lines FROM $source)
    )
)
-- not blank: holds a character that is not whitespace in Python's sense (str.isspace, the
-- same set as Arrow's utf8 whitespace); cheaper than trim with a set of characters
WHERE regexp_matches(
    line,
    '[^\t\n\v\f\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]'
)

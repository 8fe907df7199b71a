-- The object lines' values as text: one JSON parse per line extracts every key (a list of
-- JSON pointers) into a list, which the columns take apart ("v[1] AS c0, " ...).
-- DuckDB parses a fractional number into a double: one of more than 15 significant digits
-- would reach bronze rounded (12345678901234567.89 as 12345678901234568.0). Only a line with
-- a run of 16 digits can hold one; there each such double takes the number's text as
-- written instead ($numbers: per key, a pattern capturing a number after '"key":'; of those
-- written, the first that is the same double: the key may also be one of a nested object).
SELECT $columns _source_row
FROM (
    SELECT
        CASE
            WHEN types IS NULL THEN v
            ELSE list_transform(v, lambda x, i:
                CASE
                    WHEN types[i] = 'DOUBLE'
                    THEN coalesce(
                        list_filter(written[i], lambda w:
                            length(regexp_replace(w, '[^0-9]', '', 'g')) > 15
                            AND TRY_CAST(w AS DOUBLE) = TRY_CAST(x AS DOUBLE))[1],
                        x)
                    ELSE x
                END)
        END AS v,
        _source_row
    FROM (
        SELECT
            json_extract_string(line, CAST($paths AS VARCHAR[])) AS v,
            CASE WHEN long_number THEN json_type(line, CAST($paths AS VARCHAR[])) END AS types,
            CASE
                WHEN long_number
                THEN list_transform(CAST($numbers AS VARCHAR[]), lambda p: regexp_extract_all(line, p, 1))
            END AS written,
            _source_row
        FROM (
            SELECT line, regexp_matches(line, '[0-9][0-9.]{15,}') AS long_number, _source_row
            FROM __jsonl
            WHERE reason IS NULL
        )
    )
)
ORDER BY _source_row

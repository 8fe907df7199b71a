-- mask `partial`: the first characters, then ***; an e-mail keeps its domain (j***@example.com),
-- anything else its last characters (***1234); a value too short to hide anything is *** alone
CASE
    WHEN $value IS NULL THEN NULL
    WHEN length(CAST($value AS VARCHAR)) <= $keep_first + $keep_last THEN '***'
    WHEN strpos(CAST($value AS VARCHAR), '@') > $keep_first
        THEN left(CAST($value AS VARCHAR), $keep_first) || '***'
            || substr(CAST($value AS VARCHAR), strpos(CAST($value AS VARCHAR), '@'))
    ELSE left(CAST($value AS VARCHAR), $keep_first) || '***'
        || right(CAST($value AS VARCHAR), $keep_last)
END

-- The Spark twin of engines/duckdb/sql/key.sql: lakeshop_key(value) in the pipeline's SQL
-- becomes this expression, with _key_value replaced by the call's argument
-- (engines/spark/dialect.py). Spark 4.3 has no normalize(): ICU4J, which Spark ships for its
-- collations, composes the text (Normalizer.compose(text, false) is NFC); text of one byte per
-- character is ASCII and already NFC, so the JVM call is made only for the rest.
NULLIF(TRIM(
    CASE
        WHEN _key_value IS NULL OR octet_length(_key_value) = length(_key_value) THEN _key_value
        ELSE reflect('com.ibm.icu.text.Normalizer', 'compose', _key_value, false)
    END
), '')

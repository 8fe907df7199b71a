-- lakeshop_key(value): a source's key text as the pipeline compares it: trimmed, NULL when
-- empty, and in Unicode NFC, so that 'CÉ1' typed on macOS (E + U+0301, NFD) and on Windows
-- (U+00C9, NFC) is one customer. Bronze keeps the text as received. Only canonical
-- equivalence is folded: a no-break space or a zero-width character still makes another key.
-- The Spark engine's twin is engines/spark/key.sql.
CREATE OR REPLACE TEMP MACRO lakeshop_key(value) AS NULLIF(TRIM(nfc_normalize(value)), '')

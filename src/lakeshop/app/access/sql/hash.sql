-- mask `hash`: a SHA-256 of the value (equal values stay equal: joins and counts still work)
CASE WHEN $value IS NULL THEN NULL ELSE sha256(CAST($value AS VARCHAR)) END

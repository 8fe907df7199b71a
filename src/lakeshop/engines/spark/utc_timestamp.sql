-- The Spark twin of engines/duckdb/sql/utc_timestamp.sql (same rules; the session's time zone
-- is UTC): lakeshop_utc_timestamp(value, tz) in the pipeline's SQL becomes this expression,
-- with _utc_value and _utc_tz replaced by the call's arguments (engines/spark/dialect.py).
CASE
    WHEN _utc_value RLIKE '^(.*\\d\\d:\\d\\d(?::\\d\\d(?:\\.\\d+)?)?)\\s*(?:([zZ])|([+-])(\\d\\d):?(\\d\\d)?)$' THEN
        CASE
            WHEN COALESCE(CAST(NULLIF(regexp_extract(_utc_value, '([+-])(\\d\\d):?(\\d\\d)?$', 2), '') AS INT), 0) <= 18
                AND COALESCE(CAST(NULLIF(regexp_extract(_utc_value, '([+-])(\\d\\d):?(\\d\\d)?$', 3), '') AS INT), 0) <= 59
            THEN TRY_CAST(regexp_extract(_utc_value, '^(.*\\d\\d:\\d\\d(?::\\d\\d(?:\\.\\d+)?)?)\\s*(?:[zZ]|[+-]\\d\\d:?(?:\\d\\d)?)$', 1) AS TIMESTAMP_NTZ)
                - make_dt_interval(0, 0,
                    (COALESCE(CAST(NULLIF(regexp_extract(_utc_value, '([+-])(\\d\\d):?(\\d\\d)?$', 2), '') AS INT), 0) * 60
                        + COALESCE(CAST(NULLIF(regexp_extract(_utc_value, '([+-])(\\d\\d):?(\\d\\d)?$', 3), '') AS INT), 0))
                    * CASE WHEN regexp_extract(_utc_value, '([+-])(\\d\\d):?(\\d\\d)?$', 1) = '-' THEN -1 ELSE 1 END,
                    0)
        END
    WHEN _utc_tz = 'UTC' THEN TRY_CAST(_utc_value AS TIMESTAMP_NTZ)
    -- java.time: a gap is shifted forward by its length, an overlap takes its first occurrence
    ELSE CAST(to_utc_timestamp(CAST(TRY_CAST(_utc_value AS TIMESTAMP_NTZ) AS TIMESTAMP), _utc_tz) AS TIMESTAMP_NTZ)
END

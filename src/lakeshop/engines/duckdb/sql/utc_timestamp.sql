-- lakeshop_utc_timestamp(value, tz): a source's timestamp text as a UTC TIMESTAMP (NULL when
-- it does not parse). A value with a UTC offset (Z, +05:00, +0530, -03) is converted by it;
-- a naive one is wall time in the source's zone tz (an IANA name, checked when the project
-- loads). A wall time in a DST gap is read with the offset before the gap (02:30 that never
-- was in Europe/London reads as 01:30 UTC); one in an overlap is its first occurrence (the
-- summer offset). The Spark engine's twin is engines/spark/utc_timestamp.sql.
CREATE OR REPLACE TEMP MACRO lakeshop_utc_timestamp(value, tz) AS
CASE
    WHEN regexp_matches(value, '^(.*\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:([zZ])|([+-])(\d\d):?(\d\d)?)$') THEN
        CASE
            WHEN COALESCE(CAST(NULLIF(regexp_extract(value, '([+-])(\d\d):?(\d\d)?$', 2), '') AS INTEGER), 0) <= 18
                AND COALESCE(CAST(NULLIF(regexp_extract(value, '([+-])(\d\d):?(\d\d)?$', 3), '') AS INTEGER), 0) <= 59
            THEN TRY_CAST(regexp_extract(value, '^(.*\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:[zZ]|[+-]\d\d:?(?:\d\d)?)$', 1) AS TIMESTAMP)
                - INTERVAL (
                    (COALESCE(CAST(NULLIF(regexp_extract(value, '([+-])(\d\d):?(\d\d)?$', 2), '') AS INTEGER), 0) * 60
                        + COALESCE(CAST(NULLIF(regexp_extract(value, '([+-])(\d\d):?(\d\d)?$', 3), '') AS INTEGER), 0))
                    * CASE WHEN regexp_extract(value, '([+-])(\d\d):?(\d\d)?$', 1) = '-' THEN -1 ELSE 1 END
                ) MINUTE
        END
    WHEN tz = 'UTC' THEN TRY_CAST(value AS TIMESTAMP)
    -- ICU reads an overlap as its second occurrence: the hour before, an hour on, is the first
    ELSE timezone('UTC', least(
        timezone(tz, TRY_CAST(value AS TIMESTAMP)),
        timezone(tz, TRY_CAST(value AS TIMESTAMP) - INTERVAL 1 HOUR) + INTERVAL 1 HOUR
    ))
END

-- Hours from the clock to each checked source's latest delivered file (its modified time in
-- _system.files). The clock is the wall clock when the now parameter holds it, else the latest
-- delivery of any source. A source fires when its hours exceed the SLA; one never delivered counts from the
-- first delivery of any source (latest is NULL: the message says no file came yet).
WITH clock AS (
    SELECT COALESCE(CAST($now AS TIMESTAMP), MAX(modified_at)) AS now FROM _system.files
),
checked AS (
    SELECT UNNEST($sources) AS source
),
latest AS (
    SELECT k.source, MAX(f.modified_at) AS latest
    FROM checked AS k
    LEFT JOIN _system.files AS f ON f.source = k.source
    GROUP BY k.source
),
measured AS (
    SELECT
        'source=' || l.source AS scope,
        date_diff(
            'second', COALESCE(l.latest, (SELECT MIN(modified_at) FROM _system.files)), c.now
        ) / 3600.0 AS value,
        CAST($max_hours AS DOUBLE) AS threshold,
        l.latest,
        c.now AS clock
    FROM latest AS l
    CROSS JOIN clock AS c
    WHERE c.now IS NOT NULL
)
SELECT scope, value, threshold, latest, clock
FROM measured
WHERE value > threshold
ORDER BY scope

-- The alerts fired in the $days days up to the newest one, newest first (at most 200).
WITH newest AS (
    SELECT MAX(fired_at) AS at FROM _system.alerts
)
SELECT
    fired_at,
    severity,
    rule,
    scope,
    business_date,
    value,
    threshold,
    message,
    run_id
FROM _system.alerts
CROSS JOIN newest
WHERE fired_at > newest.at - to_days($days)
ORDER BY fired_at DESC, rule, scope
LIMIT 200

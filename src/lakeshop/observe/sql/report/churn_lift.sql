-- The cumulative lift of the latest churn backtest over all its folds, model and recency
-- baseline: the churn rate among the top share of customers scored over the overall rate.
WITH latest AS (
    SELECT MAX(ml_run_id) AS ml_run_id
    FROM _system.ml_backtests
    WHERE model = 'churn'
)
SELECT
    b.role,
    b.method,
    CAST(REGEXP_EXTRACT(b.metric, 'cumulative_lift_(\d+)pct', 1) AS INTEGER) AS share_pct,
    b.value AS lift
FROM _system.ml_backtests AS b
INNER JOIN latest AS l
    ON l.ml_run_id = b.ml_run_id
WHERE b.fold = 'all' AND b.metric LIKE 'cumulative_lift_%'
ORDER BY b.role DESC, share_pct

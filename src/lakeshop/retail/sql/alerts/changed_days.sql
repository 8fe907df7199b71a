-- The business days whose daily sales the given run wrote: a day added or changed by it
-- (rows of gold.agg_daily_sales that a recompute leaves unchanged keep their batch).
SELECT DISTINCT a.sales_date
FROM gold.agg_daily_sales AS a
WHERE a._batch_id = (SELECT MAX(r.batch_id) FROM _system.runs AS r WHERE r.run_id = $run_id)
ORDER BY a.sales_date

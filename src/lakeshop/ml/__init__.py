"""Machine learning on gold: demand forecasts, churn propensity and customer segments.

Reads gold through the app's read path, writes ``gold.demand_forecast``,
``gold.churn_scores``, ``gold.customer_segments`` and the tracking tables
``_system.ml_runs`` and ``_system.ml_backtests``. statsforecast, scikit-learn and lightgbm
(the ``ml`` extra) are imported only here, inside the functions that use them.
"""

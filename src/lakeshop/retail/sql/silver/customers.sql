-- Customers: the latest version of each customer_id (SCD1), from the validated history.
SELECT * FROM silver.customers_history

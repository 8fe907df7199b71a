-- Products: the latest version of each product_id (SCD1), from the validated history.
SELECT * FROM silver.products_history

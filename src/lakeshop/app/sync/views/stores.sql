-- Stores and sales channels (gold.dim_store).
SELECT store_id, name, channel, city, country, currency, opened_on, is_inferred
FROM $dim_store

-- Exchange rates: units of base currency per unit of currency, per day.
SELECT
    TRY_CAST(NULLIF(TRIM(rate_date), '') AS DATE) AS rate_date,
    UPPER(NULLIF(TRIM(currency), '')) AS currency,
    TRY_CAST(NULLIF(TRIM(rate_to_base), '') AS DECIMAL(18, 6)) AS rate_to_base,
    NULLIF(TRIM(rate_date), '') AS _raw_rate_date,
    NULLIF(TRIM(rate_to_base), '') AS _raw_rate_to_base,
    _source_file,
    _source_row
FROM bronze.fx_rates

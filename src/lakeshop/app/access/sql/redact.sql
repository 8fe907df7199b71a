-- mask `redact`: a fixed text for every value (NULL stays NULL)
CASE WHEN $value IS NULL THEN NULL ELSE $replacement END

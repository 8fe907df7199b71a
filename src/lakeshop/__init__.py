"""lakeshop: a retail sales lakehouse on DuckDB and Delta Lake."""

__version__ = "0.1.0"

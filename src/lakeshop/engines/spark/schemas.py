"""Schemas between Spark and Arrow, with the nullability the DuckDB engine's tables have."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def spark_schema(schema: pa.Schema) -> Any:
    """The Spark schema of an Arrow schema (timestamps without time zone)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema, prefer_timestamp_ntz=True)


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of a Spark DataFrame."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema, timezone="UTC")


def nullable(schema: pa.Schema) -> pa.Schema:
    """Every field nullable, as in the tables the DuckDB engine writes (Arrow's default)."""

    def loosen(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t):
            return pa.list_(pa.field(t.value_field.name, loosen(t.value_type), nullable=True))
        return t

    return pa.schema([pa.field(f.name, loosen(f.type), nullable=True) for f in schema])


def plain_arrow(table: pa.Table) -> pa.Table:
    """Spark's Arrow output with the nullability the DuckDB engine's has."""
    schema = nullable(table.schema)
    return table if table.schema == schema else table.cast(schema)

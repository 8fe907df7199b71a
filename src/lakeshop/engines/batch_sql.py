"""DuckDB SQL over a stream of Arrow batches, one batch at a time.

A reader outside the pipeline that must rewrite rows on their way out (the PostgreSQL sync
applying the access policy's column masks and row filters) runs one SELECT over each batch
as it passes: memory stays one batch, and the SQL is the same DuckDB SQL the lakehouse's
readers are governed by. The connection reaches no file and loads no extension.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa


def select_batches(
    batches: Iterable[pa.RecordBatch], sql: str, name: str
) -> Iterator[pa.RecordBatch]:
    """The result of ``sql`` (a query over the relation ``name``) over each batch in turn,
    as Arrow batches (a batch the query keeps no row of yields none)."""
    import duckdb

    with duckdb.connect(config={"enable_external_access": False}) as con:
        con.execute("SET TimeZone = 'UTC'")
        for batch in batches:
            con.register(name, pa.Table.from_batches([batch]))
            try:
                yield from con.sql(sql).to_arrow_table().to_batches()
            finally:
                con.unregister(name)


def result_schema(schema: pa.Schema, sql: str, name: str) -> pa.Schema:
    """The schema of ``sql``'s result over a relation ``name`` of ``schema`` (run on no rows)."""
    import duckdb

    with duckdb.connect(config={"enable_external_access": False}) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register(name, schema.empty_table())
        return con.sql(sql).to_arrow_table().schema

"""The ``scd2`` kind: type 2 history, rebuilt per touched key from all its versions."""

from __future__ import annotations

from datetime import datetime

from lakeshop.core.errors import LakeshopError
from lakeshop.core.sqltext import columns, ident, literal
from lakeshop.pipeline.context import RunContext, TableResult
from lakeshop.pipeline.model import Kind, Table
from lakeshop.pipeline.strategies.base import Inputs, columns_of_sql, row_digest
from lakeshop.pipeline.strategies.materialized import MaterializedStrategy

EPOCH = literal(datetime(1900, 1, 1))
END_OF_TIME = literal(datetime(9999, 12, 31))
#: the surrogate key of the unknown member
UNKNOWN = "-1"


class Scd2Strategy(MaterializedStrategy):
    """Type 2 history: one row per distinct version of a key, with validity intervals.

    The table's SQL returns versions; consecutive versions with the same attributes collapse
    into one (a re-send adds nothing), and versions arriving out of order take their place in
    the history, because the history of every touched key is rebuilt from all its versions.
    Surrogate keys hash the business key and the version's sequence, so they do not depend on
    arrival order. An unknown member (surrogate key ``'-1'``) is part of every dimension.
    """

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        if len(table.keys) != 1 or not table.sequence or not table.surrogate_key:
            raise LakeshopError(
                f"table {table.name}: scd2 needs one key, a sequence and a surrogate_key"
            )
        versions = columns_of_sql(ctx, table.sql)
        attrs = [c for c in versions if c != table.sequence and not c.startswith("_")]
        kept = [c for c in versions if not c.startswith("_")]
        listed = columns(kept)
        key, seq, sk = ident(table.keys[0]), ident(table.sequence), ident(table.surrogate_key)
        chain = f"""
            WITH versions AS (
                SELECT {listed}, {row_digest(attrs)} AS _attrs
                FROM ({table.sql}) AS v
            ),
            changes AS (
                SELECT *, LAG(_attrs) OVER (PARTITION BY {key} ORDER BY {seq}) AS _prev
                FROM versions
            ),
            kept AS (
                SELECT *,
                    ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {seq}) AS _n,
                    LEAD({seq}) OVER (PARTITION BY {key} ORDER BY {seq}) AS _next
                FROM changes
                WHERE _prev IS NULL OR _prev <> _attrs
            )
            SELECT
                md5({key} || '|' || CAST({seq} AS VARCHAR)) AS {sk},
                {listed},
                CASE WHEN _n = 1 THEN {EPOCH} ELSE {seq} END AS valid_from,
                COALESCE(_next, {END_OF_TIME}) AS valid_to,
                _next IS NULL AS is_current
            FROM kept
        """
        unknown = (
            f"SELECT {literal(UNKNOWN)} AS {sk}, "
            + ", ".join(f"NULL AS {ident(c)}" for c in kept)
            + f", {EPOCH} AS valid_from, {END_OF_TIME} AS valid_to, TRUE AS is_current"
        )
        full = f"{chain} UNION ALL {unknown}"
        scd2 = Table(
            name=table.name,
            kind=Kind.MATERIALIZED,
            sql=full,
            expectations=table.expectations,
            keys=(table.surrogate_key,),
            incremental_by=table.keys[0],
            touched={up: f"SELECT {key} FROM {up}" for up in inputs.upstream},
        )
        return self.refresh(scd2, ctx, inputs, full, partial=chain)

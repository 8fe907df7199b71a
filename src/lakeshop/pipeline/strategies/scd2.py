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
    Surrogate keys hash the business key and the version's ``valid_from``: the first version
    keeps its key when a placeholder is completed or an earlier version arrives late. A row
    whose SQL gives its own surrogate key (a column named like it; a fixed member such as a
    guest) keeps it. An unknown member (surrogate key ``'-1'``) is part of every dimension.
    """

    def execute(self, table: Table, ctx: RunContext, inputs: Inputs) -> TableResult:
        if len(table.keys) != 1 or not table.sequence or not table.surrogate_key:
            raise LakeshopError(
                f"table {table.name}: scd2 needs one key, a sequence and a surrogate_key"
            )
        versions = columns_of_sql(ctx, table.sql)
        key_name, seq_name, sk_name = table.keys[0], table.sequence, table.surrogate_key
        own = f", {ident(sk_name)} AS _own_sk" if sk_name in versions else ""
        attrs = [c for c in versions if c not in (seq_name, sk_name) and not c.startswith("_")]
        kept = [c for c in versions if c != sk_name and not c.startswith("_")]
        listed = columns(kept)
        key, seq, sk = ident(key_name), ident(seq_name), ident(sk_name)
        chain = f"""
            WITH versions AS (
                SELECT {listed}, {row_digest(attrs)} AS _attrs{own}
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
                {"COALESCE(_own_sk, " if own else "("}md5({key} || '|' || CAST(
                    CASE WHEN _n = 1 THEN {EPOCH} ELSE {seq} END AS VARCHAR))) AS {sk},
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
            keys=(sk_name,),
            incremental_by=key_name,
            touched={
                up: table.touched.get(up, f"SELECT {key} FROM {up}") for up in inputs.upstream
            },
            scope=table.scope,
        )
        return self.refresh(scd2, ctx, inputs, full, partial=chain)

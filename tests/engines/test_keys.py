"""``lakeshop_key`` (engines/duckdb/sql/key.sql) and its Spark twin (engines/spark/key.sql)
give one key for the NFC and NFD spellings of a code, and nothing else folded."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest

from lakeshop.core.sqltext import literal
from lakeshop.engines.duckdb.engine import DuckDBEngine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.engines.spark.dialect import to_spark

NFC = unicodedata.normalize("NFC", "CÉ1-Ångström")
CASES: list[tuple[str | None, str | None]] = [
    (NFC, NFC),
    (unicodedata.normalize("NFD", NFC), NFC),  # macOS's spelling: one key with the above
    ("  S2 ", "S2"),
    ("", None),
    ("   ", None),
    (None, None),
    ("S\u00a02", "S\u00a02"),  # a no-break space is another character, not another spelling
    ("S2\u200b", "S2\u200b"),  # so is a zero-width space
    ("\ufb01x", "\ufb01x"),  # a ligature is kept (NFKC would fold it; NFC does not)
    ("Đ\u0301", "Đ\u0301"),  # no precomposed form: stays as it is
]


def key_sql() -> str:
    values = ", ".join(f"({i}, CAST({literal(v)} AS VARCHAR))" for i, (v, _) in enumerate(CASES))
    return f"SELECT i, lakeshop_key(v) AS k FROM (VALUES {values}) AS c(i, v) ORDER BY i"


def test_keys_on_duckdb(tmp_path: Path) -> None:
    with DuckDBEngine(Lakehouse(tmp_path)) as engine:
        got = [r["k"] for r in engine.fetch(key_sql()).to_pylist()]
    assert got == [want for _, want in CASES]


@pytest.mark.spark
def test_keys_on_spark(spark: Any) -> None:
    got = [r["k"] for r in spark.sql(to_spark(key_sql())).collect()]
    assert got == [want for _, want in CASES]

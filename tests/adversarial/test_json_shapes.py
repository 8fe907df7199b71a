"""JSON shapes and hostile numbers: nesting 10,000 deep, duplicate keys, NaN and Infinity,
numbers past int64 and past a double's precision, a 50 MB value (JSON and CSV). Each file
is ingested or its lines rejected with a reason; the other lines are exactly what the same
file without the hostile line gives; ``doctor``'s invariants hold (checked by ``ingest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakeshop.pipeline.sources import Source
from tests.adversarial.shop import FILES, encoded, rows, run_ok, settled, shop
from tests.pipeline.landing import Ingested, ingest

pytestmark = pytest.mark.slow

FIELDS = ["id", "val"]
AROUND = ('{"id": "1", "val": "a"}\n', '{"id": "3", "val": "c"}\n')


def events() -> list[Source]:
    return [Source(name="events", path="*.jsonl", format="jsonl", fields=FIELDS, required=["id"])]


def values(out: Ingested, table: str = "bronze.events") -> dict[str, Any]:
    return {r["id"]: r["val"] for r in out.rows(table)}


def rejects(out: Ingested, table: str = "bronze.events__rejects") -> list[tuple[int, str]]:
    return [(r["_source_row"], r["reason"]) for r in out.rows(table)]


def between(line: str) -> str:
    """A JSON-lines file: a good line, ``line``, a good line."""
    return AROUND[0] + line + "\n" + AROUND[1]


def assert_neighbours_undisturbed(out: Ingested, tmp_path: Path) -> None:
    """Lines 1 and 3 are what they are in a file without line 2."""
    calm = ingest(tmp_path / "calm", {"e.jsonl": AROUND[0] + "\n" + AROUND[1]}, events())
    assert {k: v for k, v in values(out).items() if k != "2"} == values(calm)


@pytest.mark.parametrize("opener", ["[", '{"a":'], ids=["arrays", "objects"])
def test_a_value_nested_ten_thousand_deep_is_kept_as_json_text(opener: str, tmp_path: Path) -> None:
    closer = "]" if opener == "[" else "}"
    leaf = "" if opener == "[" else "1"
    nested = opener * 10_000 + leaf + closer * 10_000
    out = ingest(tmp_path, {"e.jsonl": between(f'{{"id": "2", "val": {nested}}}')}, events())
    assert out.files["e.jsonl"]["status"] == "ingested"
    assert values(out)["2"].replace(" ", "") == nested
    assert_neighbours_undisturbed(out, tmp_path)


def test_a_value_nested_a_million_deep_is_a_rejected_line_or_kept(tmp_path: Path) -> None:
    nested = "[" * 1_000_000 + "]" * 1_000_000
    out = ingest(tmp_path, {"e.jsonl": between(f'{{"id": "2", "val": {nested}}}')}, events())
    assert out.files["e.jsonl"]["status"] == "ingested"
    kept = values(out).get("2")
    assert (kept is not None and kept.replace(" ", "") == nested) or rejects(out) == [
        (2, "malformed JSON")
    ]
    assert_neighbours_undisturbed(out, tmp_path)


def test_a_key_twice_in_an_object_rejects_the_line(tmp_path: Path) -> None:
    # DuckDB keeps the first value, Python and JavaScript the last: the line means nothing sure
    lines = '{"id": "2", "val": "first", "val": "second"}'
    out = ingest(tmp_path, {"e.jsonl": between(lines) + '{"id": "4", "id": "5"}\n'}, events())
    assert rejects(out) == [(2, "duplicate key in the object"), (4, "duplicate key in the object")]
    assert_neighbours_undisturbed(out, tmp_path)
    # the same name nested is a value's business, kept as its JSON text
    nested = ingest(tmp_path / "n", {"e.jsonl": '{"id": "9", "val": {"a": 1, "a": 2}}\n'}, events())
    assert rejects(nested) == [] and "a" in values(nested)["9"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_kept_as_their_text(token: str, tmp_path: Path) -> None:
    out = ingest(tmp_path, {"e.jsonl": between(f'{{"id": "2", "val": {token}}}')}, events())
    assert values(out)["2"] == token and rejects(out) == []
    assert_neighbours_undisturbed(out, tmp_path)


@pytest.mark.parametrize(
    "number",
    [
        "9007199254740993",  # past a double's exact integers, inside int64
        "-9223372036854775809",  # past int64
        "123456789012345678901234567890123456789",
        "1e400",  # past a double
        "-0.0",
    ],
)
def test_big_numbers_are_kept_as_received(number: str, tmp_path: Path) -> None:
    out = ingest(tmp_path, {"e.jsonl": between(f'{{"id": "2", "val": {number}}}')}, events())
    assert values(out)["2"] == number
    assert_neighbours_undisturbed(out, tmp_path)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "2", "val": NUMBER}',
        # the key's text in a string and in a nested object before it: neither taken for it
        '{"id": "2", "note": "\\"val\\": 1.5", "n": {"val": 1.5}, "val": NUMBER}',
        '{"val":NUMBER,"id":"2","other":1234567890123456.5}',
    ],
    ids=["plain", "key-elsewhere", "compact"],
)
def test_a_precise_decimal_is_kept_as_received(line: str, tmp_path: Path) -> None:
    number = "12345678901234567.89"
    out = ingest(tmp_path, {"e.jsonl": between(line.replace("NUMBER", number))}, events())
    assert values(out)["2"] == number
    assert_neighbours_undisturbed(out, tmp_path)


def test_a_fifty_megabyte_value_is_kept_whole(tmp_path: Path) -> None:
    big = "é" * (25 << 20)  # 50 MB of UTF-8 in one field
    out = ingest(
        tmp_path,
        {
            "e.jsonl": between(f'{{"id": "2", "val": "{big}"}}'),
            "e.csv": f'id,val\n1,a\n2,"{big}"\n3,c\n',
        },
        [*events(), Source(name="items", path="*.csv", fields=FIELDS, required=["id"])],
    )
    for table in ("bronze.events", "bronze.items"):
        got = values(out, table)
        assert got["2"] == big and (got["1"], got["3"]) == ("a", "c"), table
        assert rejects(out, f"{table}__rejects") == []


HOSTILE_PRICES = ["NaN", "Infinity", "-Infinity", "1e400", "99999999999999999999999.99", "0x1F"]


def test_hostile_amounts_are_quarantined_not_a_failed_table(tmp_path: Path) -> None:
    files = dict(FILES)
    extra = "".join(f"O2,{3 + i},P1,1,{price},shipped\n" for i, price in enumerate(HOSTILE_PRICES))
    files["items_2026-01-01.csv"] += extra
    project = shop(tmp_path, encoded(files))
    run_ok(project)
    settled(project)
    held = rows(
        project,
        "SELECT line_no, _failed_expectations FROM silver.order_items__quarantine "
        "WHERE order_id = 'O2' ORDER BY line_no",
    )
    assert [r["line_no"] for r in held] == [3 + i for i in range(len(HOSTILE_PRICES))], held
    assert all(r["_failed_expectations"] for r in held)
    kept = rows(project, "SELECT line_no FROM silver.order_items WHERE order_id = 'O2'")
    assert sorted(r["line_no"] for r in kept) == [1, 2]

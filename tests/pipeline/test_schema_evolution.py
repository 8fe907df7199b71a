"""Schema evolution per source: new columns rescued, added or refused; every change reported."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lakeshop.app.project import Project
from lakeshop.core.errors import ConfigError
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.sources import NewColumns, Source
from tests.pipeline.landing import ingest


def customers(policy: NewColumns = "rescue", fmt: str = "csv") -> Source:
    return Source(
        name="customers",
        path=f"*.{fmt}",
        format=fmt,  # type: ignore[arg-type]
        fields=["id", "name", "phone"],
        required=["id"],
        on_new_columns=policy,
    )


def test_rescue_is_the_default_and_is_reported(tmp_path: Path) -> None:
    assert Source(path="x").on_new_columns == "rescue"
    out = ingest(tmp_path, {"a.csv": "id,name,phone,loyalty_points\n1,Ann,555,12\n"}, [customers()])
    [row] = out.rows("bronze.customers")
    assert row["_rescued_data"] == '{"loyalty_points":"12"}'
    assert "loyalty_points" not in row
    entry = out.files["a.csv"]
    assert (entry["status"], entry["schema_change"]) == (
        "ingested",
        "new columns rescued: loyalty_points",
    )
    assert "new columns rescued: loyalty_points" in out.note("bronze.customers")


def test_add_stores_new_columns_as_bronze_columns(tmp_path: Path) -> None:
    src = customers("add")
    first = ingest(tmp_path, {"1.csv": "id,name,phone\n1,Ann,555\n"}, [src])
    assert first.files["1.csv"]["schema_change"] is None
    assert "added" not in first.note("bronze.customers")
    second = ingest(
        tmp_path,
        {
            "2.csv": "id,name,phone,loyalty_points,tier\n2,Bob,556,12,gold\n",
            "3.csv": "id,name,phone,loyalty_points\n3,Cy,557,7\n",
        },
        [src],
    )
    assert second.files["2.csv"]["schema_change"] == "added: loyalty_points, tier"
    assert second.files["3.csv"]["schema_change"] == "added: loyalty_points"
    note = second.note("bronze.customers")
    assert note.endswith("added: loyalty_points, tier; added: loyalty_points")
    third = ingest(tmp_path, {"4.csv": "id,name,phone\n4,Di,558\n"}, [src])
    assert third.summary.status == "ok"
    rows = sorted(third.rows("bronze.customers"), key=lambda r: r["id"])
    assert [(r["id"], r["loyalty_points"], r["tier"], r["_rescued_data"]) for r in rows] == [
        ("1", None, None, None),
        ("2", "12", "gold", None),
        ("3", "7", None, None),
        ("4", None, None, None),
    ]
    schema = third.lakehouse.dataset("bronze.customers").schema
    assert schema.field("loyalty_points").type == pa.string()
    assert schema.names[-2:] == ["loyalty_points", "tier"]  # after the audit columns


def test_add_rescues_names_that_clash_ignoring_case(tmp_path: Path) -> None:
    src = customers("add")
    ingest(tmp_path, {"1.csv": "id,name,phone,Tier\n1,Ann,555,gold\n"}, [src])
    out = ingest(
        tmp_path, {"2.csv": 'id,name,phone,tier,_batch_id,"we""ird"\n2,Bob,556,silver,9,x\n'}, [src]
    )
    assert out.files["2.csv"]["schema_change"] == (
        'added: we"ird; new columns rescued: tier, _batch_id'
    )
    row = next(r for r in out.rows("bronze.customers") if r["id"] == "2")
    assert row["_rescued_data"] == '{"tier":"silver","_batch_id":"9"}'
    assert (row["Tier"], row['we"ird'], row["_batch_id"]) == (
        None,
        "x",
        out.files["2.csv"]["batch_id"],
    )


def test_add_works_for_json_lines(tmp_path: Path) -> None:
    out = ingest(
        tmp_path,
        {"a.jsonl": '{"id": 1, "name": "Ann", "phone": "5", "points": {"n": 3}}\n'},
        [customers("add", "jsonl")],
    )
    [row] = out.rows("bronze.customers")
    assert (row["points"], row["_rescued_data"]) == ('{"n":3}', None)


def test_fail_rejects_the_file_naming_columns_and_policy(tmp_path: Path) -> None:
    out = ingest(
        tmp_path,
        {
            "bad.csv": "id,name,phone,loyalty_points,tier\n1,Ann,555,12,gold\n",
            "good.csv": "id,name,phone\n2,Bob,556\n",
        },
        [customers("fail")],
    )
    bad = out.files["bad.csv"]
    assert (bad["status"], bad["rows"], bad["rejected_lines"]) == ("error", 0, 0)
    assert bad["error"] == (
        "unexpected column(s) loyalty_points, tier (sources.customers.on_new_columns: fail)"
    )
    assert bad["schema_change"] == "rejected: loyalty_points, tier"
    assert bad["raw_path"]
    assert [r["id"] for r in out.rows("bronze.customers")] == ["2"]
    assert "rejected: loyalty_points, tier" in out.note("bronze.customers")


@pytest.mark.parametrize("policy", ["rescue", "add", "fail"])
def test_missing_columns_are_reported_under_every_policy(
    tmp_path: Path, policy: NewColumns
) -> None:
    out = ingest(
        tmp_path,
        {"opt.csv": "id,name\n1,Ann\n", "req.csv": "name,phone\nBob,556\n"},
        [customers(policy)],
    )
    opt, req = out.files["opt.csv"], out.files["req.csv"]
    assert (opt["status"], opt["rows"], opt["schema_change"]) == (
        "ingested",
        1,
        "missing optional: phone",
    )
    assert req["status"] == "error"
    assert req["error"] == "missing required column(s) id; header has name, phone"
    assert req["schema_change"] == "missing required: id"
    assert out.note("bronze.customers").endswith("missing optional: phone; missing required: id")


def test_files_log_written_before_schema_change_existed_still_reads(tmp_path: Path) -> None:
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    names = system.SCHEMAS[system.FILES].names
    # the log as it was before schema_change (and the columns added after it) existed
    old = pa.schema(list(system.SCHEMAS[system.FILES])[: names.index("schema_change")])
    row = {f.name: None for f in old} | {"source": "other", "path": "old.csv", "status": "ingested"}
    lakehouse.write(system.FILES, pa.Table.from_pylist([row], schema=old), "append")
    assert "schema_change" not in lakehouse.read(system.FILES).column_names
    assert system.read(lakehouse, system.FILES).column("schema_change").to_pylist() == [None]

    out = ingest(tmp_path, {"a.csv": "id,name\n1,Ann\n"}, [customers()])
    assert out.files["old.csv"]["schema_change"] is None
    assert out.files["a.csv"]["schema_change"] == "missing optional: phone"
    assert system.read(lakehouse, system.FILES).schema.names == system.SCHEMAS[system.FILES].names


def test_policy_is_validated_in_lakeshop_yml(tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text(
        "sources: {customers: {path: x.csv, on_new_columns: maybe}}\n"
    )
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert (
        "setting 'sources.customers.on_new_columns': expected one of rescue, add, fail, "
        "found 'maybe'" in message
    )
    (tmp_path / "lakeshop.yml").write_text(
        "sources: {customers: {path: x.csv, on_new_columns: add}}\n"
    )
    assert Project.load(tmp_path).sources["customers"].on_new_columns == "add"

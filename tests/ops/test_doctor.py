"""``lakeshop doctor`` passes on a fresh lakehouse and names each invariant broken."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from lakeshop.app.project import Project
from lakeshop.pipeline import system
from tests.conftest import Prebuilt, cli


@pytest.fixture
def demo(prebuilt: Prebuilt, tmp_path: Path) -> Project:
    """A copy of the lakehouse ``lakeshop demo`` built (each test breaks its own)."""
    return Project.load(prebuilt.demo_copy(tmp_path / "demo"))


def doctor(project: Project) -> tuple[int, list[str]]:
    code, out, _ = cli("--project", project.directory, "doctor")
    return code, out.splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAILED")]


def append(project: Project, name: str, rows: pa.Table) -> None:
    write_deltalake(str(project.lakehouse().path(name)), rows, mode="append")


def test_passes_on_a_fresh_demo(demo: Project) -> None:
    code, lines = doctor(demo)
    assert code == 0, lines
    assert lines[-1] == "doctor: all 7 checks passed"
    assert not failures(lines)


def test_names_a_missing_raw_copy(demo: Project) -> None:
    lakehouse = demo.lakehouse()
    entry = system.read(lakehouse, system.FILES).to_pylist()[0]
    (lakehouse.root / entry["raw_path"]).unlink()
    code, lines = doctor(demo)
    assert code == 1
    [line] = failures(lines)
    assert line.startswith(f"FAILED raw copies: {entry['path']} (source {entry['source']})")
    assert "no raw copy" in line
    assert lines[-1].startswith("doctor: 1 problem(s) in 1 of 7 checks (raw copies)")


def test_names_a_duplicate_key_in_silver(demo: Project) -> None:
    row = demo.lakehouse().read("silver.orders").slice(0, 1)
    append(demo, "silver.orders", row)
    code, lines = doctor(demo)
    assert code == 1
    [line] = failures(lines)
    order_id = row.column("order_id")[0].as_py()
    assert "unique keys: silver.orders has 1 duplicated key(s) on (order_id)" in line
    assert order_id in line


def test_names_a_fact_row_whose_dimension_is_missing(demo: Project) -> None:
    row = demo.lakehouse().read("gold.fact_sales").slice(0, 1)
    sk = row.schema.field("product_sk").type
    row = row.set_column(
        row.schema.get_field_index("product_sk"),
        "product_sk",
        pa.array(["no-such-sk-987654321"], sk),
    )
    append(demo, "gold.fact_sales", row)
    code, lines = doctor(demo)
    assert code == 1
    [line] = failures(lines)
    assert (
        "fact joins: gold.fact_sales: 1 row(s) whose product_sk is not in gold.dim_product" in line
    )
    assert "no-such-sk-987654321" in line


def test_names_a_second_current_version_in_an_scd2_dimension(demo: Project) -> None:
    dim = demo.lakehouse().read("gold.dim_customer")
    row = dim.filter(pc.field("is_current")).slice(0, 1)
    sk = row.schema.get_field_index("customer_sk")
    copy = row.column(sk)[0].as_py() + "-copy"
    row = row.set_column(sk, "customer_sk", pa.array([copy], dim.schema.field(sk).type))
    append(demo, "gold.dim_customer", row)
    code, lines = doctor(demo)
    assert code == 1
    text = "\n".join(failures(lines))
    customer = row.column("customer_id")[0].as_py()
    assert "gold.dim_customer has overlapping validity intervals for 1 customer_id(s)" in text
    assert f"without exactly one current version: {customer} (2 current)" in text


def test_names_unbalanced_accounting_and_unlogged_bronze_rows(demo: Project) -> None:
    lakehouse = demo.lakehouse()
    system.append(
        lakehouse,
        system.EVENTS,
        [
            {
                "run_id": "r-bad",
                "table_name": "silver.orders",
                "rows_in": 10,
                "rows_written": 7,
                "rows_quarantined": 1,
                "rows_deduplicated": 1,
                "status": "ok",
            }
        ],
    )
    row = lakehouse.read("bronze.orders").slice(0, 1)
    batch = row.schema.get_field_index("_batch_id")
    row = row.set_column(batch, "_batch_id", pa.array([999], row.schema.field(batch).type))
    append(demo, "bronze.orders", row)
    code, lines = doctor(demo)
    assert code == 1
    found = failures(lines)
    assert any(
        "accounting: run r-bad table silver.orders: rows_in 10 ≠ 7 written + 1 quarantined + "
        "1 deduplicated" in line
        for line in found
    ), found
    assert any(
        "file rows: bronze.orders: file " in line
        and "(batch 999)" in line
        and "no entry in _system.files" in line
        for line in found
    ), found


def test_names_an_inferred_member_left_beside_its_record(demo: Project) -> None:
    dim = demo.lakehouse().read("gold.dim_customer")
    row = dim.filter(pc.field("is_current") & ~pc.field("is_guest")).slice(0, 1)
    epoch = pa.array([row.column("valid_from")[0].as_py().replace(year=1900, month=1, day=1)])
    changes = {
        "customer_sk": pa.array([row.column("customer_sk")[0].as_py() + "-inferred"]),
        "is_inferred": pa.array([True]),
        "is_current": pa.array([False]),
        "valid_from": epoch,
        "valid_to": epoch,  # an empty interval: no overlap, no second current version
    }
    for name, values in changes.items():
        i = row.schema.get_field_index(name)
        row = row.set_column(i, name, values.cast(row.schema.field(i).type))
    append(demo, "gold.dim_customer", row)
    code, lines = doctor(demo)
    assert code == 1
    [line] = failures(lines)
    customer = row.column("customer_id")[0].as_py()
    assert "gold.dim_customer keeps an inferred member beside the record of 1" in line
    assert customer in line

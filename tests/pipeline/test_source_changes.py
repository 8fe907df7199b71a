"""Operating a project whose configuration changes: fingerprints of each source's settings,
stale tables, ``--rebuild-changed``, refused files tried again, files matching no source, the
exit codes of a run and ``status``'s latest result."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from lakeshop.app import api
from lakeshop.app.project import Project, write_demo_config
from lakeshop.core import sqltext
from lakeshop.pipeline import system
from lakeshop.pipeline.changes import fingerprint, rebuild_trigger
from lakeshop.pipeline.sources import Source
from tests.conftest import assert_healthy, cli

#: a shop's CRM and catalogue exports, in its own names, semicolon-separated (the customers)
CONFIG = """
name: kunden
landing: eingang
targets:
  dev: {root: lakehouse, catalog: shop}
sources:
  customers:
    path: "crm/kunden_*.csv"
    options: {delimiter: ";"}
    mapping:
      customer_id: kunde
      email: mail
      updated_at: geaendert
      first_name: FIRST_NAME
  products:
    path: "pim/artikel_*.csv"
    mapping:
      product_id: artikel
      list_price: preis
      updated_at: geaendert
"""
CUSTOMERS = (
    "kunde;mail;geaendert;vorname\n"
    "K-1;anna@example.de;2026-03-01 10:00:00;anna\n"
    "K-2;bert@example.de;2026-03-01 11:30:00;bert\n"
)
PRODUCTS = "artikel,preis,geaendert\nA-9,12.50,2026-03-01 09:00:00\n"


def make(root: Path, first_name: str = "vorname", delimiter: str = ";") -> Project:
    """The shop's project, its customers' first names mapped from ``first_name``."""
    config = CONFIG.replace("FIRST_NAME", first_name).replace('";"', json.dumps(delimiter))
    (root / "lakeshop.yml").write_text(config)
    return Project.load(root)


def land(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / "eingang" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def project_of(landing: Path, root: Path) -> Project:
    """A project over a copy of generated landing files (every source at its default path)."""
    shutil.copytree(landing, root / "landing")
    write_demo_config(root)
    return Project.load(root)


def bronze_names(project: Project) -> list[str]:
    rows = project.lakehouse().read("bronze.customers").to_pylist()
    return sorted(r["first_name"] for r in rows)


def test_fingerprints_follow_what_shapes_bronze_rows() -> None:
    base = Source(name="orders", path="o/*.csv", fields=["order_id"], required=["order_id"])
    assert fingerprint(base) == fingerprint(base.model_copy())
    assert len(fingerprint(base)) == 16
    changed = [
        base.model_copy(update={"path": "o/*.txt"}),
        base.model_copy(update={"format": "jsonl"}),
        base.model_copy(update={"mapping": {"order_id": "invoice"}}),
        base.model_copy(update={"on_new_columns": "add"}),
        base.model_copy(update={"fields": ["order_id", "status"]}),
    ]
    assert len({fingerprint(s) for s in [base, *changed]}) == 1 + len(changed)
    # a setting written out at its default value is the same configuration
    explicit = Source.model_validate(
        {"path": "o/*.csv", "format": "csv", "on_new_columns": "rescue"}
    )
    explicit.name, explicit.fields, explicit.required = "orders", ["order_id"], ["order_id"]
    assert fingerprint(explicit) == fingerprint(base)


def test_a_changed_mapping_makes_its_tables_stale_and_rebuild_changed_rebuilds_exactly_them(
    tmp_path: Path,
) -> None:
    project = make(tmp_path)
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS, "pim/artikel_2026-03-01.csv": PRODUCTS})
    first = api.run(project).summary
    assert first.status == "ok" and first.stale == [] and first.refused == []
    assert bronze_names(project) == ["anna", "bert"]
    logged = system.read(project.lakehouse(), system.FILES).to_pylist()
    assert {r["path"]: r["config_fingerprint"] for r in logged} == {
        "crm/kunden_2026-03-01.csv": fingerprint(project.sources["customers"]),
        "pim/artikel_2026-03-01.csv": fingerprint(project.sources["products"]),
    }

    project = make(tmp_path, first_name='{sql: "upper(vorname)"}')
    second = api.run(project).summary
    assert second.status == "ok" and second.rebuilt == []
    [stale] = second.stale
    assert stale.source == "customers" and stale.files == 1
    assert stale.tables[0] == "bronze.customers"
    assert {"silver.customers", "gold.dim_customer", "silver.orders"} <= set(stale.tables)
    # (gold.dim_product is downstream: its inferred members come from order lines, whose
    # orders check their customers)
    assert not {"bronze.products", "silver.products"} & set(stale.tables)
    assert "--rebuild-changed" in cli("--project", tmp_path, "run")[1]
    assert bronze_names(project) == ["anna", "bert"]  # a plain run leaves them as they were
    status = {r["table"]: r["stale"] for r in api.status(project).to_pylist()}
    assert status["silver.customers"] == "sources.customers: configuration changed"
    assert status["silver.products"] is None

    lakehouse = project.lakehouse()
    untouched = {t: lakehouse.version(t) for t in ("bronze.products", "silver.products")}
    rebuilt = api.run(project, rebuild_changed=True).summary
    assert rebuilt.status == "ok" and rebuilt.stale == []
    assert [s.source for s in rebuilt.rebuilt] == ["customers"]
    assert bronze_names(project) == ["ANNA", "BERT"]
    assert {t: lakehouse.version(t) for t in untouched} == untouched
    by_table = {o.name: o.result for o in rebuilt.outcomes}
    assert by_table["bronze.customers"].rows_written == 2
    assert "replayed from raw" in by_table["bronze.customers"].note
    assert by_table["bronze.products"].files == 0
    runs = system.read(lakehouse, system.RUNS).to_pylist()
    assert {r["trigger"] for r in runs if r["run_id"] == rebuilt.run_id} == {
        rebuild_trigger({"customers"})
    }
    after = api.run(project).summary
    assert after.stale == [] and after.rebuilt == []
    assert all(r["stale"] is None for r in api.status(project).to_pylist())
    assert_healthy(project)


@pytest.mark.slow  # four runs; the changed-mapping rebuild is the fast part
def test_a_rebuild_that_did_not_end_ok_is_resumed_by_the_next_run(tmp_path: Path) -> None:
    project = make(tmp_path)
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    assert api.run(project).summary.status == "ok"
    lakehouse = project.lakehouse()
    # a rebuild of customers that failed (a table of it failed after bronze was rebuilt)
    row = {
        "run_id": "20260301T000000-000099",
        "batch_id": 99,
        "trigger": rebuild_trigger({"customers"}),
        "full_refresh": False,
        "status": "failed",
        "started_at": datetime(2026, 3, 1),
        "ended_at": datetime(2026, 3, 1),
    }
    system.append(lakehouse, system.RUNS, [row])
    resumed = api.run(project).summary
    assert [(s.source, s.reason) for s in resumed.rebuilt] == [
        ("customers", "rebuild not finished")
    ]
    assert resumed.status == "ok"
    again = api.run(project).summary  # the resumed rebuild ended ok: nothing owed
    assert again.rebuilt == [] and again.stale == []
    code, _, err = cli("--project", tmp_path, "run", "--select", "silver.customers")
    assert code == 0, err


def test_rebuild_changed_refuses_a_selection(tmp_path: Path) -> None:
    project = make(tmp_path)
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    assert api.run(project).summary.status == "ok"
    make(tmp_path, first_name='{sql: "upper(vorname)"}')
    code, _, err = cli(
        "--project", tmp_path, "run", "--rebuild-changed", "--select", "silver.customers"
    )
    assert code == 2 and "--select" in err and "sources.customers" in err


@pytest.mark.slow  # four runs; the changed-mapping rebuild is the fast part
def test_a_file_refused_under_an_earlier_configuration_is_tried_again(tmp_path: Path) -> None:
    project = make(tmp_path, delimiter=",")  # the export is ;-separated: one column read
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    code, out, _ = cli("--project", tmp_path, "run")
    assert code == 3
    assert "refused: crm/kunden_2026-03-01.csv (bronze.customers): missing required" in out
    # the landing folder is cleaned: the raw copy is what is read again
    (tmp_path / "eingang" / "crm" / "kunden_2026-03-01.csv").unlink()
    same = api.run(project).summary  # the same configuration: not tried again
    assert same.refused == [] and not project.lakehouse().read("bronze.customers").num_rows

    project = make(tmp_path)
    fixed = api.run(project).summary
    assert fixed.refused == []
    ingest = next(o.result for o in fixed.outcomes if o.name == "bronze.customers")
    assert ingest.rows_written == 2 and "1 tried again from raw" in ingest.note
    assert bronze_names(project) == ["anna", "bert"]
    log = system.read(project.lakehouse(), system.FILES).to_pylist()
    assert [(r["status"], r["rows"]) for r in sorted(log, key=lambda r: r["batch_id"])] == [
        ("error", 0),
        ("ingested", 2),
    ]
    assert fixed.stale == []  # the file is read under today's configuration
    assert api.run(project).summary.outcomes[0].result.files == 0  # once
    assert_healthy(project)


@pytest.mark.slow  # two runs; the changed-mapping rebuild is the fast part
def test_an_older_ingestion_log_without_fingerprints_keeps_working(tmp_path: Path) -> None:
    project = make(tmp_path)
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    assert api.run(project).summary.status == "ok"
    lakehouse = project.lakehouse()
    old = lakehouse.read(system.FILES).drop_columns(["config_fingerprint"])
    lakehouse.write(system.FILES, old, "overwrite")
    assert "config_fingerprint" not in lakehouse.read(system.FILES).column_names
    read = system.read(lakehouse, system.FILES)
    assert read.column("config_fingerprint").null_count == read.num_rows

    project = make(tmp_path, first_name='{sql: "upper(vorname)"}')
    land(tmp_path, {"crm/kunden_2026-03-02.csv": CUSTOMERS.replace("K-", "L-")})
    summary = api.run(project).summary
    assert summary.status == "ok" and summary.stale == []  # unknown is not stale
    log = system.read(lakehouse, system.FILES).to_pylist()
    assert sorted(str(r["config_fingerprint"]) for r in log) == sorted(
        ["None", fingerprint(project.sources["customers"])]
    )
    assert_healthy(project)


def test_landing_files_matching_no_source_are_listed(tmp_path: Path) -> None:
    project = make(tmp_path)
    land(
        tmp_path,
        {
            "crm/kunden_2026-03-01.csv": CUSTOMERS,
            "crm/kunden.xlsx": "not a csv",
            "lager/bestand_2026-03-01.csv": "sku,qty\n",
            "_ledger.json": "{}",
            "_late/crm/kunden_2026-03-02.csv": CUSTOMERS,
            ".hidden": "",
        },
    )
    code, out, _ = cli("--project", tmp_path, "run")
    assert code == 0
    assert (
        "unmatched: 2 landing files match no source's path: crm/kunden.xlsx, "
        "lager/bestand_2026-03-01.csv" in out
    )
    runs = system.read(project.lakehouse(), system.RUNS).to_pylist()
    ended = [r for r in runs if r["status"] == "ok"]
    assert json.loads(ended[0]["unmatched_files"]) == [
        "crm/kunden.xlsx",
        "lager/bestand_2026-03-01.csv",
    ]
    assert ended[0]["files_refused"] == 0
    code, out, _ = cli("--project", tmp_path, "status")
    assert code == 0 and "2 landing files match no source's path: crm/kunden.xlsx" in out
    code, out, err = cli("--project", tmp_path, "status", "--format", "json")
    assert json.loads(out) and "crm/kunden.xlsx" in err


def test_a_run_exits_1_when_a_table_failed_and_names_it(tmp_path: Path) -> None:
    make(tmp_path, first_name="{sql: \"error('no first names here')\"}")
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    code, out, _ = cli("--project", tmp_path, "run")
    assert code == 1
    assert "failed: bronze.customers:" in out and "no first names here" in out


def test_status_shows_each_tables_latest_result(tmp_path: Path) -> None:
    project = make(tmp_path)
    lakehouse = project.lakehouse()

    def event(batch: int, status: str) -> dict[str, object]:
        return {
            "run_id": f"20260301T00000{batch}-00000{batch}",
            "batch_id": batch,
            "table_name": "silver.orders",
            "kind": "upsert",
            "status": status,
            "error": "boom" if status == "failed" else None,
            "started_at": datetime(2026, 3, 1, batch),
        }

    # the newest run's event committed first, then an older one (a log read newest first)
    system.append(lakehouse, system.EVENTS, [event(2, "failed")])
    system.append(lakehouse, system.EVENTS, [event(1, "ok")])
    system.append(lakehouse, system.EVENTS, [event(3, "ok"), event(1, "ok")])
    rows = {r["table"]: r for r in api.status(project).to_pylist()}
    assert rows["silver.orders"]["last_status"] == "ok"
    system.append(lakehouse, system.EVENTS, [event(4, "failed")])
    rows = {r["table"]: r for r in api.status(project).to_pylist()}
    assert (rows["silver.orders"]["last_status"], rows["silver.orders"]["last_error"]) == (
        "failed",
        "boom",
    )


def test_every_system_table_exists_from_the_first_run(tmp_path: Path) -> None:
    project = make(tmp_path)
    land(tmp_path, {"crm/kunden_2026-03-01.csv": CUSTOMERS})
    code, _, err = cli("--project", tmp_path, "run", "--select", "bronze.customers")
    assert code == 0, err
    for table in sorted(system.SCHEMAS):
        code, out, err = cli(
            "--project", tmp_path, "sql", f"SELECT * FROM {table}", "--format", "json"
        )
        assert code == 0, err
        assert isinstance(json.loads(out), list)
        assert project.lakehouse().read(table).schema.names == system.SCHEMAS[table].names


def _content(project: Project) -> dict[str, list[tuple[object, ...]]]:
    """Every gold table and silver.customers, row for row, without lakeshop's own columns."""
    tables = {}
    for name in project.lakehouse().tables():
        if (name.startswith("gold.") and "__" not in name) or name == "silver.customers":
            columns = [c for c in project.lakehouse().schema(name).names if not c.startswith("_")]
            t = api.query(project, f"SELECT {sqltext.columns(columns)} FROM {name} ORDER BY ALL")
            tables[name] = [tuple(r.values()) for r in t.to_pylist()]
    return tables


@pytest.mark.slow
def test_rebuild_changed_equals_a_full_refresh(clean_retailer: Path, tmp_path: Path) -> None:
    project = project_of(clean_retailer, tmp_path)
    assert api.run(project).summary.status == "ok"
    config = yaml.safe_load((tmp_path / "lakeshop.yml").read_text())
    config["sources"]["customers"]["mapping"] = {"city": {"sql": "upper(city)"}}
    (tmp_path / "lakeshop.yml").write_text(yaml.safe_dump(config))
    project = Project.load(tmp_path)
    rebuilt = api.run(project, rebuild_changed=True).summary
    assert rebuilt.status == "ok" and [s.source for s in rebuilt.rebuilt] == ["customers"]
    after_rebuild = _content(project)
    cities = set(api.query(project, "SELECT city FROM bronze.customers").column(0).to_pylist())
    assert cities and all(c is None or c == c.upper() for c in cities)
    assert api.run(project, full_refresh=True).summary.status == "ok"
    full = _content(project)
    assert set(after_rebuild) == set(full) and len(full) >= 12
    for name in sorted(full):
        assert after_rebuild[name] == full[name], name
    assert_healthy(project)

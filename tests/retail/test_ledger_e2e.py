"""End to end against the generator's ledger: every injected defect is caught, nothing else is."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.pipeline.model import Action, Expectation
from lakeshop.retail.contract import SOURCES
from lakeshop.retail.pipeline import SILVER_EXPECTATIONS

#: ledger kind → the expectation that must name the row in its quarantine
EXPECTATION_OF = {
    "null_key": "{field}_not_null",
    "malformed_email": "email_valid",
    "non_positive": "{field}_positive",
    "unknown_fk": "{field}_known",
    "bad_enum": "{field}_in_domain",
    "unparseable_timestamp": "{field}_parseable",
    "unparseable_number": "{field}_parseable",
}


#: (source, field) of enumerations whose unknown values are kept and counted (a warn check)
OPEN = {
    (source, e.name.removesuffix("_in_domain"))
    for source, checks in SILVER_EXPECTATIONS.items()
    for e in checks
    if isinstance(e, Expectation) and e.name.endswith("_in_domain") and e.action is Action.WARN
}


def _kept(d: dict) -> bool:
    """A defect that silver keeps: an unknown code of an open enumeration (reported, not dropped)."""
    return d["kind"] == "bad_enum" and (d["source"], d["field"]) in OPEN


@pytest.fixture(scope="module")
def built(retailer: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict]:
    import shutil

    from lakeshop.app.project import write_demo_config

    root = tmp_path_factory.mktemp("e2e")
    shutil.copytree(retailer, root / "landing")
    write_demo_config(root)
    project = Project.load(root)
    summary = api.run(project).summary
    assert summary.status == "ok", [(o.name, o.error) for o in summary.failed]
    ledger = json.loads((retailer / "_ledger.json").read_text())
    return project, ledger


def _rows(project: Project, sql: str) -> list[dict]:
    return api.query(project, sql).to_pylist()


def _quarantined(project: Project) -> list[dict]:
    """Every quarantined silver row, whichever silver table holds it."""
    rows = []
    for name in project.lakehouse().tables():
        if name.startswith("silver.") and name.endswith("__quarantine"):
            rows += _rows(
                project, f"SELECT _source_file, _source_row, _failed_expectations FROM {name}"
            )
    return rows


def test_every_quarantining_defect_is_quarantined_with_its_reason(built):
    project, ledger = built
    found = {
        (r["_source_file"], r["_source_row"]): r["_failed_expectations"]
        for r in _quarantined(project)
    }
    expected = [d for d in ledger["defects"] if d["kind"] in EXPECTATION_OF and not _kept(d)]
    assert expected, "the ledger should hold row defects"
    missing = []
    for d in expected:
        reason = EXPECTATION_OF[d["kind"]].format(field=d["field"])
        reasons = found.get((d["file"], d["row"]))
        if reasons is None or reason not in reasons:
            missing.append((d["file"], d["row"], d["kind"], d["field"], reasons))
    assert not missing, (
        f"{len(missing)} of {len(expected)} defects not quarantined as expected: {missing[:10]}"
    )


def test_unknown_codes_of_open_enumerations_are_kept_and_counted(built):
    project, ledger = built
    kept = [d for d in ledger["defects"] if _kept(d)]
    assert {d["field"] for d in kept} >= {"status", "item_status", "channel", "payment_type"}
    quarantined = {(r["_source_file"], r["_source_row"]) for r in _quarantined(project)}
    assert not [d for d in kept if (d["file"], d["row"]) in quarantined]
    counted = {
        (r["table_name"], r["expectation"]): r["failed"]
        for r in _rows(
            project,
            "SELECT table_name, expectation, sum(failed) AS failed FROM _system.expectations "
            "WHERE action = 'warn' GROUP BY ALL",
        )
    }
    per_check: defaultdict[Any, int] = defaultdict(int)
    for d in kept:
        table = (
            "silver.customers_history" if d["source"] == "customers" else f"silver.{d['source']}"
        )
        per_check[(table, f"{d['field']}_in_domain")] += 1
    for check, n in per_check.items():
        assert counted.get(check, 0) >= n, (check, n, counted.get(check))


def test_no_clean_row_is_quarantined(built):
    project, ledger = built
    defective = {(d["file"], d["row"]) for d in ledger["defects"] if d["row"] is not None}
    clean_quarantined = [
        r for r in _quarantined(project) if (r["_source_file"], r["_source_row"]) not in defective
    ]
    assert not clean_quarantined, clean_quarantined[:10]


def test_malformed_lines_are_rejected_with_text_and_reason(built):
    project, ledger = built
    rejects = set()
    for source in SOURCES:
        for r in _rows(project, f"SELECT * FROM bronze.{source}__rejects"):
            assert r["line_text"] and r["reason"]
            rejects.add((r["_source_file"], r["_source_row"]))
    expected = {(d["file"], d["row"]) for d in ledger["defects"] if d["kind"] == "malformed_line"}
    assert expected
    assert expected == rejects


def test_unreadable_files_are_recorded_with_an_error(built):
    project, ledger = built
    files = {r["path"]: r for r in _rows(project, "SELECT * FROM _system.files")}
    bad = [d for d in ledger["defects"] if d["kind"] == "unreadable_file"]
    for d in bad:
        assert files[d["file"]]["status"] == "error", files[d["file"]]
        assert files[d["file"]]["error"]
    errors = {p for p, r in files.items() if r["status"] == "error"}
    assert errors == {d["file"] for d in bad}


def test_duplicates_and_stale_versions_are_deduplicated(built):
    project, ledger = built
    by_source = defaultdict(list)
    for d in ledger["defects"]:
        if d["kind"] in ("duplicate_row", "stale_version"):
            by_source[d["source"]].append(d)
    assert by_source
    for source, defects in by_source.items():
        keys = SOURCES[source].keys
        dupes = _rows(
            project,
            f"SELECT {', '.join(keys)}, count(*) AS n FROM silver.{source} GROUP BY ALL HAVING n > 1",
        )
        assert not dupes, (source, dupes[:5])
        events = _rows(
            project,
            "SELECT sum(rows_deduplicated) AS d FROM _system.events "
            f"WHERE table_name IN ('silver.{source}', 'silver.{source}_history')",
        )
        assert events[0]["d"] >= len(defects)
    for d in by_source.get("order_items", []) + by_source.get("customers", []):
        if d["kind"] != "stale_version":
            continue
        # the stale version lost: silver holds a strictly newer one
        where = " AND ".join(f"{k} = '{v}'" for k, v in d["key"].items())
        newest = _rows(
            project, f"SELECT max(updated_at) AS u FROM silver.{d['source']} WHERE {where}"
        )
        stale = _rows(
            project,
            f"SELECT max(TRY_CAST(updated_at AS TIMESTAMP)) AS u FROM bronze.{d['source']} "
            f"WHERE _source_file = '{d['file']}' AND _source_row = {d['row']}",
        )
        assert newest[0]["u"] > stale[0]["u"], d


def test_schema_drift_is_rescued(built):
    project, ledger = built
    drift = [d for d in ledger["defects"] if d["kind"] == "schema_drift"]
    assert drift
    for d in drift:
        rows = _rows(
            project,
            f"SELECT count(*) AS n, count(_rescued_data) AS rescued, "
            f"bool_and(contains(_rescued_data, '{d['field']}')) AS named "
            f"FROM bronze.{d['source']} WHERE _source_file = '{d['file']}'",
        )[0]
        assert rows["n"] > 0 and rows["rescued"] == rows["n"] and rows["named"], (d, rows)


def test_accounting_identity_holds_for_every_table(built):
    project, _ = built
    events = _rows(project, "SELECT * FROM _system.events")
    assert events
    for e in events:
        assert e["status"] == "ok", e
        assert e["rows_in"] == e["rows_written"] + e["rows_quarantined"] + e["rows_deduplicated"], e


def test_bronze_keeps_every_well_formed_record(built):
    project, ledger = built
    counted = {f["file"]: f["rows"] for f in ledger["files"]}
    files = {r["path"]: r for r in _rows(project, "SELECT * FROM _system.files")}
    for path, rows in counted.items():
        if files[path]["status"] != "ingested":
            continue
        assert files[path]["rows"] + files[path]["rejected_lines"] == rows, path

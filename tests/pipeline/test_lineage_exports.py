"""Column lineage says what a field really is: an export column only when the export has it;
a constant or an expression of the mapping, or a field no file ingested has, for what it is."""

from __future__ import annotations

import json
from pathlib import Path

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.pipeline.lineage import Lineage, ingested_exports
from tests.conftest import cli

CONFIG = """
name: kunden
landing: eingang
sources:
  customers:
    path: "crm/kunden_*.csv"
    mapping:
      customer_id: kunde
      email: mail
      updated_at: geaendert
      loyalty_tier: {const: bronze}
      country: {sql: "'DE'"}
      first_name: {sql: "upper(vorname)"}
"""
#: the first delivery has a city column, the second has not; neither has a phone
FILES = {
    "crm/kunden_1.csv": "kunde,mail,geaendert,vorname,city\nK-1,a@example.de,2026-03-01,anna,Köln\n",
    "crm/kunden_2.csv": "kunde,mail,geaendert,vorname\nK-2,b@example.de,2026-03-02,bert\n",
}


def leaves(lineage: Lineage, ref: str) -> dict[str, tuple[str, str]]:
    table, column = ref.rsplit(".", 1)
    return {n.ref: (n.kind, n.expression) for n in lineage.column(table, column).leaves()}


def test_lineage_tells_export_columns_from_mapped_and_absent_fields(tmp_path: Path) -> None:
    (tmp_path / "lakeshop.yml").write_text(CONFIG)
    project = Project.load(tmp_path)
    before = Lineage(
        project.graph, project.sources, ingested_exports(project.lakehouse(), project.sources)
    )
    [(kind, how)] = leaves(before, "bronze.customers.phone").values()
    assert kind == "landing" and "no file ingested yet" in how and "NULL otherwise" in how

    for name, text in FILES.items():
        path = project.landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert api.run(project).summary.status == "ok"
    lineage = Lineage(
        project.graph, project.sources, ingested_exports(project.lakehouse(), project.sources)
    )

    assert leaves(lineage, "silver.customers.phone") == {
        "absent.customers.phone": (
            "absent",
            "not in the export: none of the 2 files of crm/kunden_*.csv (csv) ingested has a "
            "column 'phone' and sources.customers.mapping gives none; NULL",
        )
    }
    assert leaves(lineage, "bronze.customers.city") == {
        "landing.customers.city": (
            "landing",
            "export column of crm/kunden_*.csv (csv); missing from 1 of the 2 files ingested "
            "(NULL in their rows)",
        )
    }
    assert leaves(lineage, "bronze.customers.loyalty_tier") == {
        "mapping.customers.loyalty_tier": (
            "constant",
            "constant 'bronze' set by sources.customers.mapping.loyalty_tier, not read from "
            "the export",
        )
    }
    assert leaves(lineage, "bronze.customers.country") == {
        "mapping.customers.country": (
            "mapping",
            "'DE' (sources.customers.mapping.country), reads no export column",
        )
    }
    assert leaves(lineage, "bronze.customers.first_name") == {
        "landing.customers.vorname": ("landing", "export column of crm/kunden_*.csv (csv)")
    }
    assert leaves(lineage, "bronze.customers.email") == {
        "landing.customers.mail": (
            "landing",
            "export column of crm/kunden_*.csv (csv) (mapped by sources.customers.mapping.email)",
        )
    }

    code, out, err = cli(
        "--project", tmp_path, "lineage", "silver.customers.phone", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["sources"] == []
    assert [(n["ref"], n["kind"]) for n in data["not_from_export"]] == [
        ("absent.customers.phone", "absent")
    ]
    code, out, _ = cli("--project", tmp_path, "lineage", "bronze.customers.loyalty_tier")
    assert code == 0 and "export column" not in out and "mapping.customers.loyalty_tier" in out

"""A small hand-made shop export for the probes: a configuration, its files (with accents, a
malformed line and rows that silver quarantines), and the checks every probe ends with."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from lakeshop.app import api
from lakeshop.app.project import Project
from lakeshop.ops.doctor import diagnose
from lakeshop.ops.faults import compare, ingestion_problems, run_problems, snapshot

Snapshot = dict[str, Counter[tuple[object, ...]]]

#: every file's modified time (2026-01-02 00:00 UTC): projects compared get the same ones
DELIVERED = 1_767_312_000

SOURCES: dict[str, dict[str, Any]] = {
    "stores": {"path": "stores.csv"},
    "customers": {"path": "customers.csv"},
    "products": {"path": "products.csv"},
    "orders": {"path": "orders_*.csv"},
    "order_items": {"path": "items_*.csv"},
}

FILES: dict[str, str] = {
    "stores.csv": (
        "store_id,name,channel,city,country,currency\n"
        "S1,Café Zoë,store,Zürich,CH,CHF\n"
        "S2,Web,online,,,EUR\n"
    ),
    "customers.csv": (
        "customer_id,first_name,last_name,email,city,country,updated_at\n"
        "C1,Zoë,Ångström,zoe@example.com,Malmö,SE,2026-01-01 09:00:00\n"
        "C2,José,Núñez,JOSE@Example.com,São Paulo,BR,2026-01-01 09:00:00\n"
        "C3,Łukasz,Żółć,not-an-email,Kraków,PL,2026-01-01 09:00:00\n"
    ),
    "products.csv": (
        "product_id,sku,name,category,list_price,unit_cost,currency\n"
        "P1,SKU-1,Crème brûlée,Desserts,7.50,2.10,EUR\n"
        "P2,SKU-2,日本茶,Drinks,4.00,1.00,EUR\n"
        "P3,SKU-3,Naïve ☃ mug,Home,12.00,4.00,EUR\n"
    ),
    "orders_2026-01-01.csv": (
        "order_id,customer_id,store_id,channel,order_ts,currency,status,updated_at\n"
        "O1,C1,S1,store,2026-01-01 10:00:00,CHF,delivered,2026-01-01 10:00:00\n"
        "O2,C2,S2,online,2026-01-01 11:00:00,EUR,shipped,2026-01-01 11:00:00\n"
        "O3,C3,S2,online,2026-01-01 12:00:00,EUR,placed,2026-01-01 12:00:00\n"
        "O4,C1,S2,online,not a time,EUR,placed,2026-01-01 12:00:00\n"
        "O5,C2,S2,online,too,many,values,in,this,line\n"
    ),
    "items_2026-01-01.csv": (
        "order_id,line_no,product_id,quantity,unit_price,item_status\n"
        "O1,1,P1,2,7.50,delivered\n"
        "O2,1,P2,1,4.00,shipped\n"
        "O2,2,P3,1,12.00,shipped\n"
        "O3,1,P1,-1,7.50,placed\n"
    ),
}


def config(**options: dict[str, Any]) -> str:
    """The shop's ``lakeshop.yml``; ``options`` per source name (``orders={"encoding": ...}``)."""
    sources = {
        name: {**spec, **({"options": options[name]} if name in options else {})}
        for name, spec in SOURCES.items()
    }
    return yaml.safe_dump({"landing": "exports", "sources": sources}, sort_keys=False)


def encoded(
    files: dict[str, str], encoding: str = "utf-8", newline: str = "\n"
) -> dict[str, bytes]:
    """The files as bytes in ``encoding`` with ``newline`` line ends."""
    return {n: t.replace("\n", newline).encode(encoding) for n, t in files.items()}


def shop(
    directory: Path,
    files: dict[str, bytes] | None = None,
    config_text: str | None = None,
) -> Project:
    """A project in ``directory`` whose landing holds ``files`` (the shop's, in UTF-8 by
    default), every one modified at :data:`DELIVERED`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lakeshop.yml").write_text(config_text or config())
    deliver(directory / "exports", files if files is not None else encoded(FILES))
    return Project.load(directory)


def deliver(landing: Path, files: dict[str, bytes], stamp: float = DELIVERED) -> None:
    """Write ``files`` into the landing folder with the modified time ``stamp``."""
    for name, data in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))


def run_ok(project: Project, *allowed: str) -> None:
    """A run that ends ``ok`` (or one of ``allowed``: ``refused`` when a file is meant to be)."""
    summary = api.run(project).summary
    assert summary.status in ("ok", *allowed), [(o.name, o.error) for o in summary.failed]


def settled(project: Project, ignore: frozenset[str] = frozenset()) -> Snapshot:
    """``doctor`` passes, no file is ingested twice or skipped, no run is left open: the
    lakehouse's data tables (for comparing with an undisturbed run)."""
    problems = diagnose(project).problems + ingestion_problems(project) + run_problems(project)
    assert problems == [], problems
    return snapshot(project, ignore)


def same_as(expected: Snapshot, project: Project, ignore: frozenset[str] = frozenset()) -> None:
    """The project is healthy and every table equals the undisturbed run's (both without the
    columns in ``ignore``, when the undisturbed snapshot was taken so)."""
    differences = compare(expected, settled(project, ignore))
    assert differences == [], differences


#: a row quarantined for good (say, a time that does not parse) keeps the reasons it was judged
#: with: when a parent was late (its file refused, then delivered again), the parent's check is
#: among them, unlike in an undisturbed run; probes of late files compare without them
REASONS = frozenset({"_failed_expectations"})


def calm(tmp_path: Path) -> Project:
    """The undisturbed shop, run once (in ``tmp_path/calm``)."""
    project = shop(tmp_path / "calm")
    run_ok(project)
    return project


def rows(project: Project, sql: str) -> list[dict[str, Any]]:
    return api.query(project, sql).to_pylist()


def files_log(project: Project) -> dict[str, dict[str, Any]]:
    """``_system.files`` by landing path (its latest entry)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows(project, "SELECT * FROM _system.files"), key=lambda r: r["batch_id"]):
        out[r["path"]] = r
    return out

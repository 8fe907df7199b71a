"""Changes of a source's configuration: its fingerprint, the tables it leaves stale, and the
rebuilds still owed.

Every file ingested is logged in ``_system.files`` with the fingerprint of its source's
configuration at the time (:func:`fingerprint`: everything that shapes its bronze rows: path,
format, parsing options, mapping, new-column policy, contract fields). When the fingerprint of
the configuration now differs from that of a file whose rows bronze holds, the source's bronze
table and every table downstream of it are **stale**: they hold rows read under another
configuration. ``lakeshop run --rebuild-changed`` rebuilds exactly those tables (bronze from the
raw copies of every file of the source, the others from all of their upstream rows).

A rebuild run is marked by its trigger (``rebuild orders,order_items``). One that did not end
``ok`` (failed or killed) is owed: the next run rebuilds those sources again, as a full refresh
that did not finish is resumed, since its tables may be half rebuilt. A later rebuild of the
same source or a full refresh that ends ``ok`` settles it.

Entries logged before fingerprints were recorded have none: their configuration is unknown
and never makes a source stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind
from lakeshop.pipeline.raw import DELIVERED
from lakeshop.pipeline.sources import Source

_REBUILD = re.compile(r"rebuild ([a-z0-9_]+(?:,[a-z0-9_]+)*)")


def fingerprint(source: Source) -> str:
    """16 hex digits of the SHA-256 of the source's configuration (settings left at their
    default are left out, so that a new setting with a default changes no fingerprint)."""
    settings = source.model_dump(mode="json", exclude_defaults=True)
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Stale:
    """A source whose bronze rows were read under another configuration than today's."""

    source: str
    #: files whose rows bronze holds, read under an earlier configuration
    files: int
    #: the source's ingest tables and every table downstream of them, in run order
    tables: list[str] = field(default_factory=list)
    #: why: ``configuration changed`` or ``rebuild not finished``
    reason: str = "configuration changed"

    def describe(self) -> str:
        """``sources.orders: configuration changed since 3 files were ingested; stale: …``."""
        if self.reason == "configuration changed":
            n = self.files
            why = f"configuration changed since {n} file{' was' if n == 1 else 's were'} ingested"
        else:
            why = "its last rebuild did not finish"
        return f"sources.{self.source}: {why}; stale: {', '.join(self.tables)}"


def latest_deliveries(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest entry of each delivery (path and content) of one source's log entries:
    the one whose batch holds its rows in bronze, or its latest refusal."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(log, key=lambda r: (r["batch_id"], r["path"])):
        if r["status"] in DELIVERED:
            latest[(r["path"], r["sha256"])] = r
    return sorted(latest.values(), key=lambda r: (r["batch_id"], r["path"]))


def refused(entry: dict[str, Any]) -> bool:
    """Whether a log entry is a refusal: a file not read (``error``, or a replay that failed)."""
    if entry["status"] == "error":
        return True
    return entry["status"] == "replayed" and bool(entry["error"]) and not entry["rows"]


def changed_sources(lakehouse: Lakehouse, sources: dict[str, Source]) -> dict[str, int]:
    """Per source whose configuration changed: how many files bronze holds from before."""
    log = system.read(lakehouse, system.FILES).to_pylist()
    out: dict[str, int] = {}
    for name, source in sorted(sources.items()):
        now = fingerprint(source)
        mine = [r for r in log if r["source"] == name]
        older = [
            r
            for r in latest_deliveries(mine)
            if not refused(r) and r["config_fingerprint"] not in (None, now)
        ]
        if older:
            out[name] = len(older)
    return out


def owed_rebuilds(lakehouse: Lakehouse) -> set[str]:
    """Sources of rebuild runs that did not end ``ok`` and that no later rebuild of the
    source, nor a full refresh, settled by ending ``ok``."""
    final: dict[str, dict[str, Any]] = {}
    for r in system.read(lakehouse, system.RUNS).to_pylist():
        if r["status"] != "running":
            final[r["run_id"]] = r
    owed: set[str] = set()
    for r in sorted(final.values(), key=lambda r: (r["batch_id"] or 0, r["run_id"])):
        rebuilt = rebuild_sources(r["trigger"])
        if r["status"] == "ok":
            owed = set() if r["full_refresh"] else owed - rebuilt
        else:
            owed |= rebuilt
    return owed


def stale_tables(graph: Graph, source: str) -> list[str]:
    """The source's ingest tables and every table downstream of them, in run order."""
    roots = {n for n, t in graph.tables.items() if t.kind is Kind.INGEST and t.source == source}
    reached = set(roots)
    for name in roots:
        reached |= graph.downstream(name)
    return [n for n in graph.order() if n in reached]


def stale(lakehouse: Lakehouse, sources: dict[str, Source], graph: Graph) -> list[Stale]:
    """Every source whose tables are stale, by name: changed configuration, then owed rebuilds."""
    changed = changed_sources(lakehouse, sources)
    out = [Stale(s, n, stale_tables(graph, s)) for s, n in changed.items()]
    for s in sorted(owed_rebuilds(lakehouse) - set(changed)):
        if s in sources:
            out.append(Stale(s, 0, stale_tables(graph, s), "rebuild not finished"))
    return sorted(out, key=lambda s: s.source)


def rebuild_trigger(sources: set[str]) -> str:
    """The ``trigger`` of a rebuild run in ``_system.runs`` (it names the sources)."""
    return "rebuild " + ",".join(sorted(sources))


def rebuild_sources(trigger: str | None) -> set[str]:
    """The sources a rebuild run's trigger names; empty for any other run."""
    found = _REBUILD.fullmatch(trigger or "")
    return set(found.group(1).split(",")) if found else set()

"""``lakeshop doctor``: checks the lakehouse's invariants and names what is broken.

Each check returns one line per problem found; none of them writes anything (a reader: it
takes no lock, and reads one snapshot per table).

- accounting: ``rows_in = rows_written + rows_quarantined + rows_deduplicated +
  rows_filtered`` for every table and run in ``_system.events`` (an older log without
  ``rows_filtered`` counts none);
- unique keys: the declared keys of silver upsert/append tables; the surrogate key of every
  ``gold.dim_*``; for SCD2 dimensions, no overlapping validity intervals per business key and
  exactly one current version (members without a business key, unknown and guest, aside); an
  inferred member of an SCD2 dimension is the only row of its key (a completed one has none);
- fact joins: every ``*_sk`` of a ``gold.fact_*`` row is found in the dimension holding it;
- raw copies: every file of ``_system.files`` has its raw copy under the lakehouse root;
- file rows: per ingested file and batch, bronze and its rejects hold as many rows as
  ``_system.files`` says (and no rows of a file the log does not know). A delivery (path
  and sha256) read again by a full refresh or a replay is held at its latest entry's batch;
- table logs: no table folder whose Delta log holds no commit or ends in an empty one (a
  first commit a full disk or a kill cut short); ``lakeshop doctor --repair`` removes them;
- quarantined once: no quarantine holds the same row (source file, line and values) twice
  (``_run_id`` and ``_batch_id`` aside), e.g. after a replay or run that failed mid-table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from lakeshop.app.project import Project
from lakeshop.core.sqltext import column, columns, ident, literal
from lakeshop.engines import delta_log
from lakeshop.engines.base import Engine
from lakeshop.engines.lakehouse import Lakehouse
from lakeshop.pipeline import system
from lakeshop.pipeline.graph import Graph
from lakeshop.pipeline.model import Kind

#: how many example keys a problem line names
EXAMPLES = 3


@dataclass
class CheckResult:
    """One check: what it looked at and the problems it found (one line each)."""

    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Diagnosis:
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.checks for p in c.problems]


def diagnose(project: Project, target: str | None = None) -> Diagnosis:
    """Run every check on the target's lakehouse."""
    with project.engine(target) as engine:
        return examine(project.graph, engine)


def examine(graph: Graph, engine: Engine) -> Diagnosis:
    """Run every check on the tables of ``graph`` in the engine's lakehouse."""
    checks: list[tuple[str, Callable[[Graph, _Reader], CheckResult]]] = [
        ("accounting", _accounting),
        ("unique keys", _unique_keys),
        ("fact joins", _fact_joins),
        ("raw copies", _raw_copies),
        ("file rows", _file_rows),
        ("quarantined once", _quarantined_once),
        ("table logs", _table_logs),
    ]
    reader = _Reader(engine)
    results = []
    for name, check in checks:
        result = check(graph, reader)
        result.name = name
        results.append(result)
    return Diagnosis(results)


@dataclass
class _Reader:
    """The engine, with each table bound once: one snapshot per table for all checks."""

    engine: Engine
    bound: set[str] = field(default_factory=set)

    @property
    def lakehouse(self) -> Lakehouse:
        return self.engine.lakehouse

    def bind(self, *names: str) -> bool:
        """Bind the tables; False when one of them does not exist."""
        if not all(n in self.bound or self.lakehouse.exists(n) for n in names):
            return False
        for n in names:
            if n not in self.bound:
                self.engine.bind_table(n)
                self.bound.add(n)
        return True

    def fetch(self, sql: str) -> pa.Table:
        return self.engine.fetch(sql)

    def columns(self, name: str) -> list[str]:
        return [str(c) for c in self.fetch(f"SELECT * FROM {name} LIMIT 0").column_names]


def _examples(rows: list[dict[str, object]], columns: list[str]) -> str:
    shown = [
        "(" + ", ".join(str(r[c]) for c in columns) + ")"
        if len(columns) > 1
        else str(r[columns[0]])
        for r in rows[:EXAMPLES]
    ]
    more = ", …" if len(rows) > EXAMPLES else ""
    return ", ".join(shown) + more


def _accounting(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("accounting")
    if not db.bind(system.EVENTS):
        return result
    result.checked = int(db.fetch(f"SELECT count(*) AS n FROM {system.EVENTS}")["n"][0].as_py())
    # logs written before `where:` existed have no rows_filtered: nothing was filtered then
    filtered = (
        f"COALESCE({ident('rows_filtered')}, 0)"
        if "rows_filtered" in db.columns(system.EVENTS)
        else "0"
    )
    bad = db.fetch(
        f"""SELECT run_id, table_name, rows_in, rows_written, rows_quarantined, rows_deduplicated,
            {filtered} AS rows_filtered
        FROM {system.EVENTS}
        WHERE rows_in IS DISTINCT FROM
            rows_written + rows_quarantined + rows_deduplicated + {filtered}
        ORDER BY run_id, table_name"""
    ).to_pylist()
    for r in bad:
        result.problems.append(
            f"run {r['run_id']} table {r['table_name']}: rows_in {r['rows_in']} ≠ "
            f"{r['rows_written']} written + {r['rows_quarantined']} quarantined + "
            f"{r['rows_deduplicated']} deduplicated + {r['rows_filtered']} filtered"
        )
    return result


def _duplicates(db: _Reader, name: str, keys: list[str]) -> str | None:
    cols = columns(keys)
    dups = db.fetch(
        f"SELECT {cols}, count(*) AS _n FROM {name} GROUP BY ALL HAVING count(*) > 1 ORDER BY {cols}"
    ).to_pylist()
    if not dups:
        return None
    return (
        f"{name} has {len(dups)} duplicated key(s) on ({', '.join(keys)}): {_examples(dups, keys)}"
    )


def _unique_keys(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("unique keys")
    for name in graph.order():
        table = graph.tables[name]
        if not db.bind(name):
            continue
        if table.schema == "silver" and table.kind in (Kind.UPSERT, Kind.APPEND) and table.keys:
            keys = list(table.keys)
        elif table.schema == "gold" and table.short_name.startswith("dim_"):
            sks = [c for c in db.columns(name) if c.endswith("_sk")]
            keys = [table.surrogate_key] if table.surrogate_key else sks or list(table.keys)
        else:
            continue
        if not keys:
            continue
        result.checked += 1
        problem = _duplicates(db, name, keys)
        if problem:
            result.problems.append(problem)
        if table.kind is Kind.SCD2 and table.keys:
            result.problems.extend(_scd2_problems(db, name, table.keys[0]))
            if "is_inferred" in db.columns(name):
                result.problems.extend(_inferred_problems(db, name, table.keys[0]))
    return result


def _inferred_problems(db: _Reader, name: str, key: str) -> list[str]:
    k = ident(key)
    left = db.fetch(
        f"""SELECT {k} FROM {name} WHERE {k} IS NOT NULL GROUP BY {k}
        HAVING count(*) FILTER (WHERE is_inferred) > 0 AND count(*) > 1 ORDER BY {k}"""
    ).to_pylist()
    if not left:
        return []
    return [
        f"{name} keeps an inferred member beside the record of {len(left)} {key}(s): "
        f"{_examples(left, [key])}"
    ]


def _scd2_problems(db: _Reader, name: str, key: str) -> list[str]:
    k = ident(key)
    problems = []
    overlaps = db.fetch(
        f"""SELECT DISTINCT {k} FROM (
            SELECT {k}, valid_from,
                   lag(valid_to) OVER (PARTITION BY {k} ORDER BY valid_from, valid_to) AS prev_to
            FROM {name} WHERE {k} IS NOT NULL
        ) WHERE prev_to > valid_from ORDER BY {k}"""
    ).to_pylist()
    if overlaps:
        problems.append(
            f"{name} has overlapping validity intervals for {len(overlaps)} {key}(s): "
            f"{_examples(overlaps, [key])}"
        )
    current = db.fetch(
        f"""SELECT {k}, count(*) FILTER (WHERE is_current) AS n FROM {name}
        WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) FILTER (WHERE is_current) <> 1 ORDER BY {k}"""
    ).to_pylist()
    if current:
        problems.append(
            f"{name} has {len(current)} {key}(s) without exactly one current version: "
            + ", ".join(f"{r[key]} ({r['n']} current)" for r in current[:EXAMPLES])
            + (", …" if len(current) > EXAMPLES else "")
        )
    return problems


def _fact_joins(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("fact joins")
    gold = [n for n in graph.order() if n.startswith("gold.") and db.bind(n)]
    owners: dict[str, str] = {}  # sk column → dimension holding it
    for name in gold:
        if name.startswith("gold.dim_"):
            for c in db.columns(name):
                if c.endswith("_sk"):
                    owners.setdefault(c, name)
    for name in gold:
        if not name.startswith("gold.fact_"):
            continue
        for c in db.columns(name):
            if c not in owners:
                continue
            result.checked += 1
            dim, fact_sk, dim_sk = owners[c], column(c, "f"), column(c, "d")
            missing = db.fetch(
                f"""SELECT {fact_sk} AS sk, count(*) AS n FROM {name} f
                WHERE NOT EXISTS (SELECT 1 FROM {dim} d WHERE {dim_sk} = {fact_sk})
                GROUP BY ALL ORDER BY sk NULLS FIRST"""
            ).to_pylist()
            if missing:
                rows = sum(int(r["n"]) for r in missing)
                result.problems.append(
                    f"{name}: {rows} row(s) whose {c} is not in {dim}: {_examples(missing, ['sk'])}"
                )
    return result


def _raw_copies(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("raw copies")
    if not db.bind(system.FILES):
        return result
    root = db.lakehouse.root
    files = db.fetch(
        f"SELECT source, path, raw_path FROM {system.FILES} WHERE raw_path IS NOT NULL "
        "ORDER BY source, path"
    ).to_pylist()
    result.checked = len(files)
    for f in files:
        if not (root / str(f["raw_path"])).is_file():
            result.problems.append(
                f"{f['path']} (source {f['source']}) has no raw copy at {root / str(f['raw_path'])}"
            )
    return result


def _file_rows(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("file rows")
    if not db.bind(system.FILES):
        return result
    for name in graph.order():
        table = graph.tables[name]
        if table.kind is not Kind.INGEST or not db.bind(name, table.rejects):
            continue
        result.checked += 1
        bad = db.fetch(
            f"""WITH latest AS (
                SELECT * FROM {system.FILES} WHERE source = {literal(table.source)}
                QUALIFY row_number() OVER (PARTITION BY path, sha256 ORDER BY batch_id DESC) = 1
            ), logged AS (
                SELECT path, batch_id, sum(rows) AS rows, sum(rejected_lines) AS rejected
                FROM latest GROUP BY ALL
            ), kept AS (
                SELECT _source_file AS path, _batch_id AS batch_id, count(*) AS rows
                FROM {name} GROUP BY ALL
            ), rejected AS (
                SELECT _source_file AS path, _batch_id AS batch_id, count(*) AS rejected
                FROM {table.rejects} GROUP BY ALL
            )
            SELECT coalesce(l.path, k.path, r.path) AS path,
                   coalesce(l.batch_id, k.batch_id, r.batch_id) AS batch_id,
                   l.path IS NOT NULL AS in_log,
                   coalesce(l.rows, 0) AS logged_rows, coalesce(k.rows, 0) AS bronze_rows,
                   coalesce(l.rejected, 0) AS logged_rejected,
                   coalesce(r.rejected, 0) AS rejects
            FROM logged l
            FULL JOIN kept k ON k.path = l.path AND k.batch_id = l.batch_id
            FULL JOIN rejected r ON r.path = coalesce(l.path, k.path)
                AND r.batch_id = coalesce(l.batch_id, k.batch_id)
            WHERE l.path IS NULL OR coalesce(l.rows, 0) <> coalesce(k.rows, 0)
               OR coalesce(l.rejected, 0) <> coalesce(r.rejected, 0)
            ORDER BY path, batch_id"""
        ).to_pylist()
        for r in bad:
            where = f"{name}: file {r['path']} (batch {r['batch_id']})"
            if not r["in_log"]:
                result.problems.append(
                    f"{where} has {r['bronze_rows']} row(s) and {r['rejects']} reject(s) "
                    "but no entry in _system.files"
                )
            else:
                result.problems.append(
                    f"{where}: _system.files says {r['logged_rows']} row(s) and "
                    f"{r['logged_rejected']} rejected line(s); bronze holds {r['bronze_rows']}, "
                    f"{table.rejects} holds {r['rejects']}"
                )
    return result


def _quarantined_once(graph: Graph, db: _Reader) -> CheckResult:
    """No quarantine holds the same row (its source file, line and values) twice."""
    result = CheckResult("quarantined once")
    for name in graph.order():
        table = graph.tables[name]
        if table.kind is Kind.INGEST or not db.bind(table.quarantine):
            continue
        result.checked += 1
        kept = [c for c in db.columns(table.quarantine) if c not in ("_run_id", "_batch_id")]
        where: list[str] = [c for c in ("_source_file", "_source_row") if c in kept]
        twice = db.fetch(
            f"SELECT {columns(where) if where else '1 AS one'}, count(*) AS n "
            f"FROM {table.quarantine} GROUP BY {columns(kept)} HAVING count(*) > 1 "
            "ORDER BY ALL LIMIT 5"
        ).to_pylist()
        if twice:
            result.problems.append(
                f"{table.quarantine}: rows quarantined more than once: "
                f"{_examples(twice, where) if where else len(twice)}"
            )
    return result


def broken_tables(lakehouse: Lakehouse) -> list[Path]:
    """Table folders whose Delta log a failed commit left empty or partial."""
    base = lakehouse.root / lakehouse.catalog
    return [
        log.parent for log in sorted(base.glob("*/*/_delta_log")) if delta_log.broken(log.parent)
    ]


def repair(project: Project, target: str | None = None) -> list[Path]:
    """Remove what failed commits left (see :mod:`lakeshop.engines.delta_log`), under the
    writer lock; returns the table folders repaired. The next run recreates such a table."""
    from lakeshop.app import api

    lakehouse = project.lakehouse(target)
    with api.writer_lock_of(project, target, purpose="doctor --repair"):
        return [d for d in broken_tables(lakehouse) if delta_log.repair(d)]


def _table_logs(graph: Graph, db: _Reader) -> CheckResult:
    result = CheckResult("table logs")
    base = db.lakehouse.root / db.lakehouse.catalog
    logs = sorted(base.glob("*/*/_delta_log"))
    result.checked = len(logs)
    for table_dir in broken_tables(db.lakehouse):
        result.problems.append(
            f"{table_dir}: its Delta log holds no complete commit (a failed first commit); "
            "`lakeshop doctor --repair` removes it and the next run recreates the table"
        )
    return result

"""What makes the shipped schema friendly to a BI tool: primary keys, indexes on keys and
dates, foreign keys from facts to dimensions, comments from docs/gold.md, and views with
business names (``bi.sales_daily`` …).

- **Primary keys** are the tables' declared keys (an SCD2 dimension's surrogate key), added
  after a table is created and loaded, in the same transaction. Where the rows do not allow
  one (a NULL in a key column, such as an order without a channel in ``agg_daily_sales``) the
  key columns get a plain index instead, said in the table's line; an incremental change that
  would break a key drops it (the table stays exactly Delta's).
- **Indexes**: the column a change is applied by, and every date column.
- **Foreign keys** ``fact.x_sk → dim.x_sk`` for every ``*_sk`` column whose name is the
  primary key of another shipped table of the same schema. They are ``NOT VALID``: for a BI
  tool's join suggestions, never checked against the rows (the unknown member ``'-1'`` and
  the order in which tables commit would fail a check). A sync that writes drops them first
  (a dimension is truncated or rewritten) and adds them again at its end.
- **Views** (``src/lakeshop/app/sync/views/*.sql``, one per view, ``$table`` naming a gold
  table) in ``sync.postgres.views_schema``, created when every table they read is shipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lakeshop.app.project import Project
from lakeshop.app.sync.comments import gold_comments
from lakeshop.app.sync.pgtypes import PG, PgColumn
from lakeshop.app.sync.postgres import Postgres, PostgresError, short_name
from lakeshop.app.sync.tables import SyncTable
from lakeshop.core.sqltext import Template, column, columns, ident, literal, table, to_table
from lakeshop.pipeline.model import Kind

#: the prefix of the foreign keys the sync owns (dropped and added again by it)
FK_PREFIX = "lakeshop_fk_"


def primary_key(project: Project, name: str) -> tuple[str, ...]:
    """The columns that identify a row of the lakehouse table ``name`` (none: undeclared)."""
    declared = project.graph.tables.get(name)
    if declared is None or declared.kind is Kind.VIEW:
        return ()
    if declared.kind is Kind.SCD2 and declared.surrogate_key:
        return (declared.surrogate_key,)
    return tuple(declared.keys)


def structure(
    pg: Postgres, project: Project, t: SyncTable, cols: list[PgColumn], schema: str | None = None
) -> str:
    """Inside the transaction that created and loaded the table: its primary key, indexes and
    comments. ``schema``: where the table is (default its destination's). A note for the
    table's line ("" when all went as declared)."""
    where = schema or t.pg_schema
    target = table(where, t.pg_name, dialect=PG)
    names = {c.name for c in cols}
    keys = [k for k in primary_key(project, t.name) if k in names]
    note = ""
    indexed: list[tuple[str, ...]] = []
    if keys:
        constraint = ident(short_name(f"{t.pg_name}_pkey"), PG)
        try:
            with pg.transaction():  # a savepoint: a key the rows break is not fatal
                pg.execute(
                    f"ALTER TABLE {target} ADD CONSTRAINT {constraint} "
                    f"PRIMARY KEY ({columns(keys, dialect=PG)})"
                )
            indexed.append(tuple(keys))
        except PostgresError as exc:
            note = f"no primary key ({', '.join(keys)}): {_reason(exc)}; indexed instead"
    wanted: list[tuple[str, ...]] = [tuple(keys)] if keys else []
    if t.change_column:
        wanted.append((t.change_column,))
    wanted += [(c.name,) for c in cols if c.family == "date"]
    for on in wanted:
        if any(done[: len(on)] == on for done in indexed):
            continue  # a key or index already leads with these columns
        index = ident(short_name(f"{t.pg_name}__{'_'.join(on)}__idx"), PG)
        pg.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {target} ({columns(on, dialect=PG)})")
        indexed.append(on)
    _comment(pg, t, where, names)
    return note


def _reason(exc: PostgresError) -> str:
    state = getattr(exc, "sqlstate", None)
    if state == "23502":
        return "a key column holds NULL"
    if state == "23505":
        return "duplicate keys"
    return str(exc)


def _comment(pg: Postgres, t: SyncTable, schema: str, names: set[str]) -> None:
    described = gold_comments().get(t.pg_name) if t.name.startswith("gold.") else None
    target = table(schema, t.pg_name, dialect=PG)
    origin = f"lakehouse table {t.name}"
    text = f"{described.comment} ({origin}, docs/gold.md)" if described else origin
    pg.execute(f"COMMENT ON TABLE {target} IS {literal(text, PG)}")
    if described is None:
        return
    for name, comment in described.columns.items():
        if name in names:
            pg.execute(
                f"COMMENT ON COLUMN {target}.{column(name, dialect=PG)} IS {literal(comment, PG)}"
            )


# --- foreign keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignKey:
    table: SyncTable
    column: str
    parent: SyncTable

    @property
    def name(self) -> str:
        return short_name(f"{FK_PREFIX}{self.table.pg_name}__{self.column}")


def foreign_keys(
    project: Project, tables: Iterable[SyncTable], cols: dict[str, list[str]]
) -> list[ForeignKey]:
    """``x_sk`` columns of shipped tables that are the one-column primary key of another
    shipped table of the same PostgreSQL schema."""
    chosen = list(tables)
    parents = {}
    for t in chosen:
        keys = primary_key(project, t.name)
        if len(keys) == 1 and keys[0].endswith("_sk"):
            parents[(t.pg_schema, keys[0])] = t
    out = []
    for t in chosen:
        for c in cols.get(t.name, []):
            parent = parents.get((t.pg_schema, c))
            if parent is not None and parent.name != t.name:
                out.append(ForeignKey(t, c, parent))
    return out


def drop_foreign_keys(pg: Postgres, tables: Iterable[SyncTable]) -> None:
    """Drop the sync's foreign keys from and to ``tables`` (one transaction)."""
    regclasses = [table(t.pg_schema, t.pg_name, dialect=PG) for t in tables]
    if not regclasses:
        return
    found = pg.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
        "AND conname LIKE %s AND (conrelid = ANY (%s::regclass[]) "
        "OR confrelid = ANY (%s::regclass[]))",
        [FK_PREFIX + "%", _existing(pg, regclasses), _existing(pg, regclasses)],
    )
    with pg.transaction():
        for owner, name in found:
            pg.execute(f"ALTER TABLE {owner} DROP CONSTRAINT IF EXISTS {ident(name, PG)}")


def _existing(pg: Postgres, regclasses: list[str]) -> list[str]:
    rows = pg.execute(
        "SELECT r FROM unnest(%s::text[]) AS r WHERE to_regclass(r) IS NOT NULL", [regclasses]
    )
    return [r[0] for r in rows]


def add_foreign_keys(pg: Postgres, keys: Iterable[ForeignKey]) -> int:
    """Add the foreign keys not there yet (``NOT VALID``: never checked); how many exist."""
    count = 0
    with pg.transaction():
        for fk in keys:
            child = table(fk.table.pg_schema, fk.table.pg_name, dialect=PG)
            parent = table(fk.parent.pg_schema, fk.parent.pg_name, dialect=PG)
            if not pg.exists(fk.table.pg_schema, fk.table.pg_name):
                continue
            if pg.primary_key(fk.parent.pg_schema, fk.parent.pg_name) != [fk.column]:
                continue
            there = pg.execute(
                "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
                [child, fk.name],
            )
            if not there:
                pg.execute(
                    f"ALTER TABLE {child} ADD CONSTRAINT {ident(fk.name, PG)} FOREIGN KEY "
                    f"({column(fk.column, dialect=PG)}) REFERENCES {parent} "
                    f"({column(fk.column, dialect=PG)}) NOT VALID"
                )
            count += 1
    return count


# --- views ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def view_templates() -> dict[str, Template]:
    """The business views, by name (``views/<name>.sql``)."""
    folder = resources.files("lakeshop.app.sync").joinpath("views")
    return {
        f.name.removesuffix(".sql"): Template(f.read_text("utf-8"), f.name)
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    }


def _viewable(shipped: dict[str, SyncTable]) -> list[str]:
    return [
        name
        for name, template in view_templates().items()
        if all(f"gold.{p}" in shipped for p in template.parameters)
    ]


def views_in_place(pg: Postgres, schema: str, shipped: dict[str, SyncTable]) -> bool:
    """Whether every view the shipped tables allow exists in ``schema``."""
    there = pg.execute("SELECT viewname FROM pg_views WHERE schemaname = %s", [schema])
    return set(_viewable(shipped)) <= {r[0] for r in there}


def create_views(pg: Postgres, schema: str, shipped: dict[str, SyncTable]) -> list[str]:
    """(Re)create in ``schema`` every view whose gold tables are all shipped (``shipped``: by
    lakehouse name); the views created."""
    made = []
    with pg.transaction():
        pg.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema, PG)}")
        for name, template in view_templates().items():
            needed = {p: shipped.get(f"gold.{p}") for p in template.parameters}
            view = table(schema, name, dialect=PG)
            pg.execute(f"DROP VIEW IF EXISTS {view}")
            if any(t is None or not pg.exists(t.pg_schema, t.pg_name) for t in needed.values()):
                continue
            params = {p: to_table(t.pg_schema, t.pg_name) for p, t in needed.items() if t}
            body = template.render(params, dialect=PG)
            pg.execute(f"CREATE VIEW {view} AS {body}")
            first = body.lstrip().splitlines()[0]
            if first.startswith("--"):
                pg.execute(f"COMMENT ON VIEW {view} IS {literal(first[2:].strip(), PG)}")
            made.append(name)
    return made

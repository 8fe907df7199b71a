"""``lakeshop env diff``: two targets compared table by table, to review a change before
promoting it (in the spirit of SQLMesh's ``table_diff``).

Per table: the columns only one side has (or of another type), the row counts, the rows only
on one side and, for rows on both, how many changed in each column. Rows are matched by the
table's declared keys when they identify one row on each side, else compared whole (as a
multiset). Columns that say which batch or when, not what (``_batch_id``, ``_ingested_at``,
``_run_id``), are left out. All in Arrow, vectorised: rows are matched by one text made of
their values (NULL included), as joins would not match NULLs. Each table is read whole on
both sides: for reviewing targets that fit in memory (development volumes, a sample of
production).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from lakeshop.app.project import Project
from lakeshop.app.sandbox import nearby_tables
from lakeshop.core.errors import TableNotFound
from lakeshop.engines.lakehouse import Lakehouse

#: columns that differ between two targets fed the same files at other moments
VOLATILE = frozenset({"_batch_id", "_ingested_at", "_run_id"})
_NULL = "\x00∅"
_SEP = "\x00|"
_KEY = "__row_key"


@dataclass
class TableDiff:
    """How one table differs between the two targets (``left``: --from, ``right``: --to)."""

    table: str
    left_rows: int | None
    right_rows: int | None
    only_left: int = 0
    only_right: int = 0
    #: per column, rows matched by key whose value differs
    changed: dict[str, int] = field(default_factory=dict)
    #: "a: only in left", "b: int64 → string" …
    schema: list[str] = field(default_factory=list)
    #: "key (order_id)" or "whole rows"
    matched_by: str = ""
    note: str = ""
    #: columns left out of the comparison: structs and maps (their values are not text)
    skipped: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Same schema, same rows (the ``skipped`` columns aside)."""
        return (
            self.left_rows == self.right_rows
            and not (self.only_left or self.only_right or self.schema or self.note)
            and not any(self.changed.values())
        )


def diff(
    project: Project, left: str, right: str, tables: Iterable[str] | None = None
) -> list[TableDiff]:
    """Compare the targets ``left`` and ``right`` on ``tables`` (default: every data table
    either holds; ``_system`` is each target's own log)."""
    a, b = project.lakehouse(left), project.lakehouse(right)
    held = sorted(t for t in {*a.tables(), *b.tables()} if not t.split(".")[0].endswith("_system"))
    chosen = list(tables) if tables else held
    for name in chosen:
        if name not in held:
            raise TableNotFound(name, nearby_tables(name, held))
    return [_table(project, name, a, b) for name in chosen]


def _table(project: Project, name: str, a: Lakehouse, b: Lakehouse) -> TableDiff:
    if not (a.exists(name) and b.exists(name)):
        side = "--from" if a.exists(name) else "--to"
        rows = (a if a.exists(name) else b).dataset(name).count_rows()
        found = TableDiff(name, rows if a.exists(name) else None, None if a.exists(name) else rows)
        found.note = f"only in {side}"
        return found
    left, right = a.dataset(name).to_table(), b.dataset(name).to_table()
    out = TableDiff(name, left.num_rows, right.num_rows)
    common = []
    for f in left.schema:
        if f.name in VOLATILE:
            continue
        if f.name not in right.column_names:
            out.schema.append(f"{f.name}: only in --from")
        elif right.schema.field(f.name).type != f.type:
            out.schema.append(f"{f.name}: {f.type} → {right.schema.field(f.name).type}")
        else:
            common.append(f.name)
    out.schema += [
        f"{c}: only in --to"
        for c in right.column_names
        if c not in left.column_names and c not in VOLATILE
    ]
    comparable = [c for c in common if _as_text(left.column(c)) is not None]
    out.skipped = [c for c in common if c not in comparable]
    declared = project.graph.tables.get(name)
    keys = list(declared.keys) if declared is not None else []
    if keys and all(k in comparable for k in keys) and _unique(left, keys) and _unique(right, keys):
        out.matched_by = f"key ({', '.join(keys)})"
        _by_key(out, left, right, keys, [c for c in comparable if c not in keys])
    else:
        out.matched_by = "whole rows"
        _whole(out, left, right, comparable)
    return out


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The values as text, NULL as a mark of its own (a list: its items joined); None for
    structs and maps."""
    try:
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            items = pc.cast(column, pa.list_(pa.string()))
            return pc.fill_null(pc.binary_join(items, _SEP), _NULL)
        if pa.types.is_nested(column.type):
            return None
        return pc.fill_null(pc.cast(column, pa.string()), _NULL)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _row_key(table: pa.Table, columns: list[str]) -> pa.ChunkedArray:
    """One text per row made of its values in ``columns``."""
    parts = [_as_text(table.column(c)) for c in columns]
    if not parts:
        return pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
    return pc.binary_join_element_wise(*parts, _SEP)


def _unique(table: pa.Table, keys: list[str]) -> bool:
    return bool(pc.count_distinct(_row_key(table, keys)).as_py() == table.num_rows)


def _by_key(
    out: TableDiff, left: pa.Table, right: pa.Table, keys: list[str], values: list[str]
) -> None:
    lk = left.select(values).append_column(_KEY, _row_key(left, keys))
    rk = right.select(values).append_column(_KEY, _row_key(right, keys))
    out.only_left = lk.join(rk.select([_KEY]), _KEY, join_type="left anti").num_rows
    out.only_right = rk.join(lk.select([_KEY]), _KEY, join_type="left anti").num_rows
    both = lk.join(rk, _KEY, join_type="inner", right_suffix="__to")
    for c in values:
        x, y = both.column(c), both.column(f"{c}__to")
        same = pc.if_else(
            pc.and_(pc.is_null(x), pc.is_null(y)), True, pc.fill_null(pc.equal(x, y), False)
        )
        out.changed[c] = int(pc.sum(pc.invert(same)).as_py() or 0)


def _whole(out: TableDiff, left: pa.Table, right: pa.Table, columns: list[str]) -> None:
    counted = [
        pa.table({_KEY: _row_key(t, columns)}).group_by(_KEY).aggregate([([], "count_all")])
        for t in (left, right)
    ]
    both = counted[0].join(counted[1], _KEY, join_type="full outer", right_suffix="__to")
    x = pc.fill_null(both.column("count_all"), 0)
    y = pc.fill_null(both.column("count_all__to"), 0)
    out.only_left = int(pc.sum(pc.max_element_wise(pc.subtract(x, y), 0)).as_py() or 0)
    out.only_right = int(pc.sum(pc.max_element_wise(pc.subtract(y, x), 0)).as_py() or 0)

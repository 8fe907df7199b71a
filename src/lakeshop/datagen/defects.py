"""Defect injection: corrupted extra copies of valid rows, placed at random positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .formats import SOURCES, IntArray, constant, csv_lines, json_lines, json_string

ROW_KINDS = (
    "null_key",
    "malformed_email",
    "non_positive",
    "unknown_fk",
    "bad_enum",
    "unparseable_timestamp",
    "unparseable_number",
    "duplicate_row",
    "stale_version",
    "malformed_line",
)
FILE_KINDS = ("schema_drift", "unreadable_file")
KINDS = ROW_KINDS + FILE_KINDS

# fields each kind can corrupt, per source (kinds absent do not apply to the source)
APPLICABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "null_key": ("customer_id",),
        "malformed_email": ("email",),
        "bad_enum": ("gender", "loyalty_tier"),
        "unparseable_timestamp": ("updated_at",),
        "stale_version": (),
    },
    "products": {
        "null_key": ("product_id",),
        "non_positive": ("list_price",),
        "bad_enum": ("currency",),
        "unparseable_timestamp": ("updated_at",),
        "unparseable_number": ("list_price",),
        "stale_version": (),
    },
    "stores": {
        "null_key": ("store_id",),
        "bad_enum": ("channel", "currency"),
        "unparseable_timestamp": ("updated_at",),
    },
    "orders": {
        "null_key": ("order_id",),
        "unknown_fk": ("customer_id", "store_id"),
        "bad_enum": ("channel", "status", "currency"),
        "unparseable_timestamp": ("order_ts", "updated_at"),
    },
    "order_items": {
        "null_key": ("order_id", "line_no"),
        "non_positive": ("quantity", "unit_price"),
        "unknown_fk": ("product_id",),
        "bad_enum": ("item_status",),
        "unparseable_timestamp": ("updated_at",),
        "unparseable_number": ("quantity", "unit_price"),
        "stale_version": (),
    },
    "payments": {
        "null_key": ("payment_id",),
        "non_positive": ("amount",),
        "unknown_fk": ("order_id",),
        "bad_enum": ("payment_type", "status", "currency"),
        "unparseable_timestamp": ("transaction_ts",),
        "unparseable_number": ("amount",),
    },
    "refunds": {
        "null_key": ("refund_id",),
        "unknown_fk": ("payment_id",),
        "bad_enum": ("status",),
        "unparseable_timestamp": ("refund_ts",),
        "unparseable_number": ("amount",),
    },
    "returns": {
        "null_key": ("return_id",),
        "non_positive": ("return_qty",),
        "unknown_fk": ("order_id",),
        "unparseable_timestamp": ("returned_at",),
        "unparseable_number": ("return_amount",),
    },
    "inventory": {
        "null_key": ("store_id", "product_id"),
        "unknown_fk": ("store_id", "product_id"),
        "unparseable_timestamp": ("snapshot_date",),
        "unparseable_number": ("on_hand_qty",),
    },
    "fx_rates": {
        "null_key": ("currency",),
        "bad_enum": ("currency",),
        "unparseable_timestamp": ("rate_date",),
        "unparseable_number": ("rate_to_base",),
    },
    "clickstream": {
        "null_key": ("event_id",),
        "unknown_fk": ("customer_id", "product_id"),
        "bad_enum": ("event_type", "device"),
        "unparseable_timestamp": ("event_ts",),
    },
}
for _kinds in APPLICABLE.values():
    _kinds.update({"duplicate_row": (), "malformed_line": ()})

BAD_ENUM = {
    "gender": "X",
    "loyalty_tier": "diamond",
    "channel": "phone",
    "currency": "XXX",
    "status": "unknown",
    "item_status": "lost",
    "payment_type": "crypto",
    "event_type": "hover",
    "device": "smartwatch",
}
UNKNOWN_FK = {
    "customer_id": "C9999999",
    "product_id": "P99999",
    "store_id": "S999",
    "order_id": "O99999999",
    "payment_id": "PAY999999999",
}
# fresh primary keys for unknown_fk copies: "<prefix>9<day:04d><n:05d>", longer than valid ids
FRESH_PREFIX = {
    "order_id": "O",
    "payment_id": "PAY",
    "refund_id": "REF",
    "return_id": "R",
    "event_id": "E",
}
BAD_TIMESTAMPS = ("2026-13-45T99:00:00", "yesterday")
BAD_DATES = ("2026-13-45", "yesterday")
BAD_NUMBERS = ("12,5O", "abc")
DATE_FIELDS = ("birth_date", "opened_on", "snapshot_date", "rate_date")


@dataclass
class Injected:
    """Rendered lines of one file (each ending with a newline), with its defect records (as JSON
    text, without file/row)."""

    lines: pa.Array
    rows: IntArray  # 1-based record numbers of the defects
    kinds: list[str]
    fields: pa.Array
    keys: pa.Array


def render(source: str, table: pa.Table, end: str = "") -> pa.Array:
    """Render a string table of ``source`` as lines in its file format, each ending with
    ``end``."""
    spec = SOURCES[source]
    if spec.format == "csv":
        return csv_lines(table, end)
    return json_lines(table, spec.json_numbers, end)


def key_json(source: str, table: pa.Table) -> pa.Array:
    """The primary key of each row as a JSON object of text values."""
    parts: list[pa.Array | pa.Scalar] = []
    for i, k in enumerate(SOURCES[source].keys):
        parts += [
            pa.scalar(("{" if i == 0 else ",") + f'"{k}":'),
            json_string(table.column(k).combine_chunks()),
        ]
    parts.append(pa.scalar("}"))
    return pc.binary_join_element_wise(*parts, "")


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> pa.Array:
    return pa.array(
        np.asarray(options, dtype=object)[rng.integers(0, len(options), n)], pa.string()
    )


def _corrupt(
    source: str,
    kind: str,
    field: str,
    copy: pa.Table,
    rng: np.random.Generator,
    day: int,
    fresh: list[int],
) -> pa.Table:
    n = copy.num_rows
    if kind == "null_key":
        return _set(copy, field, constant(None, n))
    if kind == "malformed_email":
        email = pc.utf8_trim_whitespace(copy.column(field).combine_chunks())
        local = pc.utf8_replace_slice(email, start=0, stop=0, replacement="")
        forms = [
            pc.replace_substring(email, "@", "(at)"),
            pc.binary_join_element_wise("@@", pc.replace_substring(local, "@", ""), ""),
            pc.replace_substring(email, "@", ""),
        ]
        choice = rng.integers(0, 3, n)
        out = forms[0]
        for k in (1, 2):
            out = pc.if_else(pa.array(choice == k), forms[k], out)
        return _set(copy, field, out)
    if kind == "non_positive":
        val = copy.column(field).combine_chunks()
        zero = "0.00" if "." in (val[0].as_py() or "") else "0"
        neg = pc.binary_join_element_wise("-", val, "")
        return _set(copy, field, pc.if_else(pa.array(rng.random(n) < 0.5), constant(zero, n), neg))
    if kind == "unknown_fk":
        copy = _set(copy, field, constant(UNKNOWN_FK[field], n))
        pk = SOURCES[source].keys
        if source == "order_items":  # same order, line numbers never used by valid data
            line_no = pa.array(900 + np.arange(fresh[0], fresh[0] + n)).cast(pa.string())
            fresh[0] += n
            return _set(copy, "line_no", line_no)
        if len(pk) == 1:
            prefix = FRESH_PREFIX[pk[0]]
            nums = np.arange(fresh[0], fresh[0] + n)
            fresh[0] += n
            text = pc.utf8_lpad(pa.array(nums).cast(pa.string()), width=5, padding="0")
            return _set(copy, pk[0], pc.binary_join_element_wise(f"{prefix}9{day:04d}", text, ""))
        return copy  # inventory: the unknown FK already makes the key unique
    if kind == "bad_enum":
        return _set(copy, field, constant(BAD_ENUM[field], n))
    if kind == "unparseable_timestamp":
        bad = BAD_DATES if field in DATE_FIELDS else BAD_TIMESTAMPS
        return _set(copy, field, _pick(rng, bad, n))
    if kind == "unparseable_number":
        return _set(copy, field, _pick(rng, BAD_NUMBERS, n))
    return copy  # duplicate_row, stale_version, malformed_line: content unchanged here


def _malformed(source: str, lines: pa.Array, choice: IntArray | None) -> pa.Array:
    """Break each line: JSONL truncated; CSV (``choice`` per line) a field missing, one too
    many, or broken quoting."""
    if SOURCES[source].format == "jsonl":  # truncated JSON object: no closing brace
        return pc.replace_substring_regex(lines, r".{0,8}\}$", "")
    assert choice is not None
    drop = pc.replace_substring_regex(lines, r",[^,]*$", "")  # one field missing
    extra = pc.binary_join_element_wise(lines, "extra", ",")  # one field too many
    # broken quoting: the first two fields quoted together (`"a,b"x`), one field short
    quoted = pc.replace_substring_regex(lines, r'^([^,"]*),([^,"]*),', '"\\1,\\2"x,')
    can_quote = pc.fill_null(pc.match_substring_regex(lines, r'^[^,"]*,[^,"]*,'), False)
    out = pc.if_else(pa.array(choice == 1), extra, drop)
    return pc.if_else(pc.and_(pa.array(choice == 2), can_quote), quoted, out)


def inject(
    source: str,
    table: pa.Table,
    stale: pa.Table | None,
    rate: float,
    rng: np.random.Generator,
    day: int,
    fresh: list[int],
) -> Injected:
    """Render ``table`` and insert about ``rate`` × rows corrupted copies at random positions."""
    clean = render(source, table, "\n")
    n = table.num_rows
    empty = Injected(
        clean, np.zeros(0, np.int64), [], pa.array([], pa.string()), pa.array([], pa.string())
    )
    if rate <= 0 or n == 0:
        return empty
    k = int(rng.binomial(n, rate))
    if k == 0:
        return empty
    kinds = list(APPLICABLE[source])
    counts = rng.multinomial(k, np.full(len(kinds), 1 / len(kinds)))
    # corrupted copies of every kind are collected, then rendered together (one render)
    out_tables: list[pa.Table] = []
    out_kinds: list[str] = []
    out_fields: list[str | None] = []
    malformed: tuple[int, int, IntArray | None] | None = None
    at = 0
    for kind, cnt in zip(kinds, counts, strict=True):
        if cnt == 0:
            continue
        if kind == "stale_version":
            if stale is None or stale.num_rows == 0:
                continue
            if stale.num_columns != table.num_columns:
                stale = _align(stale, table)
            copies: list[tuple[pa.Table, str | None]] = [
                (stale.take(rng.integers(0, stale.num_rows, cnt)), None)
            ]
        else:
            fields = APPLICABLE[source][kind] or (None,)
            split = rng.multinomial(cnt, np.full(len(fields), 1 / len(fields)))
            copies = []
            for f, c in zip(fields, split, strict=True):
                if c:
                    src = table.take(rng.integers(0, n, c))
                    copies.append((_corrupt(source, kind, f or "", src, rng, day, fresh), f))
        for copy, f in copies:
            if kind == "malformed_line":  # its draws come here, in the order of the kinds
                csv = SOURCES[source].format == "csv"
                choice = rng.integers(0, 3, copy.num_rows) if csv else None
                malformed = (at, copy.num_rows, choice)
            out_tables.append(copy)
            out_kinds += [kind] * copy.num_rows
            out_fields += [f] * copy.num_rows
            at += copy.num_rows
    if not out_tables:
        return empty
    copies_table = pa.concat_tables(out_tables)
    bad = render(source, copies_table)
    if malformed is not None:
        start, size, choice = malformed
        broken = _malformed(source, bad.slice(start, size), choice)
        bad = pa.concat_arrays([bad.slice(0, start), broken, bad.slice(start + size)])
    bad = pc.binary_join_element_wise(bad, pa.scalar("\n"), "")
    out_keys = key_json(source, copies_table)
    m = len(bad)
    total = n + m
    slots = np.sort(rng.choice(total, m, replace=False))
    perm = rng.permutation(m)  # shuffle defects among the chosen slots
    is_bad = np.zeros(total, bool)
    is_bad[slots] = True
    order = np.empty(total, np.int64)
    order[~is_bad] = np.arange(n)
    order[slots] = n + perm
    lines = pa.concat_arrays([clean, bad]).take(pa.array(order))
    rows = np.empty(m, np.int64)
    rows[perm] = slots + 1
    fields_text = pa.array(np.array(out_fields, dtype=object), pa.string())
    return Injected(lines, rows, out_kinds, fields_text, out_keys)


def _align(stale: pa.Table, table: pa.Table) -> pa.Table:
    """Give stale rows the columns of the current file (drift column appended)."""
    for name in table.column_names[len(stale.column_names) :]:
        stale = stale.append_column(name, constant("false", stale.num_rows))
    return stale

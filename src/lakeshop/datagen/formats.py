"""Source contract (field names, keys, enumerations) and vectorised text rendering."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

from lakeshop.retail.contract import (  # noqa: E402  (the contract is shared with the pipeline)
    BASE_CURRENCY,
    CARD_BRANDS,
    CHANNELS,
    CURRENCIES,
    DEVICES,
    EVENT_TYPES,
    GENDERS,
    ITEM_STATUSES,
    LOYALTY_TIERS,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    PAYMENT_TYPES,
    REFUND_STATUSES,
    RETURN_REASONS,
)
from lakeshop.retail.contract import (  # noqa: E402  (the sources and fields the generator writes)
    GENERATED as SOURCES,
)

__all__ = [
    "BASE_CURRENCY",
    "CARD_BRANDS",
    "CHANNELS",
    "CURRENCIES",
    "DEVICES",
    "EVENT_TYPES",
    "GENDERS",
    "ITEM_STATUSES",
    "LOYALTY_TIERS",
    "ORDER_STATUSES",
    "PAYMENT_STATUSES",
    "PAYMENT_TYPES",
    "REFUND_STATUSES",
    "RETURN_REASONS",
    "SOURCES",
]
SOURCE_ORDER: tuple[str, ...] = tuple(SOURCES)

DAY_SECONDS = 86_400

# id prefixes and digit widths of valid data
ID_WIDTH = {"C": 7, "P": 5, "S": 3, "O": 8, "PAY": 9, "REF": 8, "R": 8, "E": 10, "SES": 9}


def _quads() -> npt.NDArray[np.uint32]:
    """``"0000"`` … ``"9999"`` as 4-byte words: digits are rendered by table lookup."""
    n = np.arange(10_000)
    chars = np.stack([48 + n // 1000, 48 + n // 100 % 10, 48 + n // 10 % 10, 48 + n % 10], 1)
    return np.ascontiguousarray(chars.astype(np.uint8)).view(np.uint32).ravel()


_QUADS = _quads()


def _digits(values: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """The decimal digits of non-negative integers below 10**width, as ASCII, zero-padded."""
    rest = np.asarray(values, dtype=np.int64)
    groups = -(-width // 4)
    out = np.empty((len(rest), groups), np.uint32)
    for g in range(groups - 1, -1, -1):  # four digits per step, from the right
        if g == 0:
            out[:, g] = _QUADS[rest]
        else:
            rest, low = np.divmod(rest, 10_000)
            out[:, g] = _QUADS[low]
    return out.view(np.uint8).reshape(len(rest), 4 * groups)[:, 4 * groups - width :]


def _fixed_width(chars: npt.NDArray[np.uint8], mask: BoolArray | None = None) -> pa.Array:
    """A string array from an (n, width) array of ASCII codes: no per-value work."""
    n, width = chars.shape
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    out = pa.Array.from_buffers(pa.string(), n, [None, offsets, data])
    if mask is not None:
        out = pc.if_else(pa.array(np.asarray(mask, bool)), pa.scalar(None, pa.string()), out)
    return out


def _ascii(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("ascii"), np.uint8)


def _date_parts(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of epoch days."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    years = d.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


# rendered dates of 1900-01-01 … 2199-12-31 (epoch days), looked up rather than computed
_DATES_FROM, _DATES_TO = -25_567, 84_006


@functools.cache
def _date_table() -> npt.NDArray[np.void]:
    days = np.arange(_DATES_FROM, _DATES_TO)
    year, month, day = _date_parts(days)
    chars = np.empty((len(days), 10), np.uint8)
    chars[:, 0:4] = _digits(year, 4)
    chars[:, 4] = chars[:, 7] = ord("-")
    chars[:, 5:7] = _digits(month, 2)
    chars[:, 8:10] = _digits(day, 2)
    return chars.view("V10").ravel()


@functools.cache
def _time_table() -> npt.NDArray[np.uint64]:
    """``HH:MM:SS`` of every second of a day, as 8-byte words."""
    secs = np.arange(DAY_SECONDS)
    chars = np.empty((DAY_SECONDS, 8), np.uint8)
    chars[:, 2] = chars[:, 5] = ord(":")
    chars[:, 0:2] = _digits(secs // 3600, 2)
    chars[:, 3:5] = _digits(secs // 60 % 60, 2)
    chars[:, 6:8] = _digits(secs % 60, 2)
    return chars.view(np.uint64).ravel()


def _render_date(chars: npt.NDArray[np.uint8], days: IntArray) -> bool:
    """Write ``YYYY-MM-DD`` into the first ten columns; False when a year has not 4 digits."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return True
    lo, hi = int(days.min()), int(days.max())
    if lo >= _DATES_FROM and hi < _DATES_TO:
        rendered = _date_table()[days - _DATES_FROM]
        chars[:, 0:10] = rendered.view(np.uint8).reshape(len(days), 10)
        return True
    year, month, day = _date_parts(days)
    if year.min() < 1000 or year.max() > 9999:
        return False
    chars[:, 0:4] = _digits(year, 4)
    chars[:, 4] = chars[:, 7] = ord("-")
    chars[:, 5:7] = _digits(month, 2)
    chars[:, 8:10] = _digits(day, 2)
    return True


def ids(prefix: str, nums: IntArray) -> pa.Array:
    """Render integer ids as prefixed zero-padded strings (``C0000001``)."""
    nums = np.asarray(nums, dtype=np.int64)
    width = ID_WIDTH[prefix]
    if len(nums) and nums.min() >= 0 and nums.max() < 10**width:
        chars = np.empty((len(nums), len(prefix) + width), np.uint8)
        chars[:, : len(prefix)] = _ascii(prefix)
        chars[:, len(prefix) :] = _digits(nums, width)
        return _fixed_width(chars)
    text = pa.array(nums).cast(pa.string())
    padded = pc.utf8_lpad(text, width=ID_WIDTH[prefix], padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def lookup(values: Sequence[str], codes: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """Map integer codes onto a list of strings (``mask`` True gives null)."""
    table = pa.array(list(values), type=pa.string())
    out = table.take(pa.array(np.asarray(codes, dtype=np.int64)))
    if mask is not None:
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


SMALL = 10_000


@functools.cache
def _small_ints() -> pa.Array:
    """``"0"`` … ``"9999"``: small integers are rendered by lookup (a cast costs ~10x more)."""
    return pa.array(np.arange(SMALL)).cast(pa.string())


@functools.cache
def _cents() -> pa.Array:
    """``"00"`` … ``"99"``."""
    return pc.utf8_lpad(pa.array(np.arange(100)).cast(pa.string()), width=2, padding="0")


def _small(nums: IntArray) -> bool:
    return len(nums) == 0 or (nums.min() >= 0 and nums.max() < SMALL)


def integers(nums: IntArray) -> pa.Array:
    """Render integers as text."""
    nums = np.asarray(nums, dtype=np.int64)
    if _small(nums):
        return _small_ints().take(pa.array(nums))
    return pa.array(nums).cast(pa.string())


def fixed(units: IntArray, decimals: int) -> pa.Array:
    """Render non-negative integer minor units as a fixed-point decimal (``1999`` → ``19.99``)."""
    units = np.asarray(units, dtype=np.int64)
    if decimals == 2 and _small(units // 100):  # both parts by lookup
        whole = _small_ints().take(pa.array(units // 100))
        return pc.binary_join_element_wise(whole, _cents().take(pa.array(units % 100)), ".")
    if len(units) == 0 or units.min() >= 0:  # the decimal point put into the digits
        padded = pc.utf8_lpad(pa.array(units).cast(pa.string()), width=decimals + 1, padding="0")
        return pc.binary_replace_slice(padded, start=-decimals, stop=-decimals, replacement=".")
    scale = 10**decimals
    whole = pa.array(units // scale).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(units % scale).cast(pa.string()), width=decimals, padding="0")
    return pc.binary_join_element_wise(whole, frac, ".")


def money(cents: IntArray) -> pa.Array:
    """Render cents as money text with exactly two decimals."""
    return fixed(cents, 2)


def timestamps(secs: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """Render epoch seconds as ``YYYY-MM-DDTHH:MM:SS`` (``mask`` True gives null)."""
    secs = np.asarray(secs, dtype=np.int64)
    days = secs // DAY_SECONDS
    chars = np.empty((len(secs), 19), np.uint8)
    if _render_date(chars, days):
        chars[:, 10] = ord("T")
        clock = _time_table()[secs - days * DAY_SECONDS]
        chars[:, 11:19] = clock.view(np.uint8).reshape(len(secs), 8)
        return _fixed_width(chars, mask)
    text = np.datetime_as_string(np.asarray(secs, dtype="datetime64[s]"), unit="s")
    return pa.array(text, type=pa.string(), mask=mask)


def dates(days: IntArray) -> pa.Array:
    """Render epoch days as ``YYYY-MM-DD``."""
    chars = np.empty((len(days), 10), np.uint8)
    if _render_date(chars, days):
        return _fixed_width(chars)
    text = np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")
    return pa.array(text, type=pa.string())


def integers_text(nums: IntArray) -> pa.Array:
    """Integers as text by a plain cast (e-mail suffixes, SKU and model numbers)."""
    return pa.array(np.asarray(nums, dtype=np.int64)).cast(pa.string())


def constant(value: str | None, n: int) -> pa.Array:
    """A string column repeating one value."""
    return pa.array(np.full(n, value, dtype=object), type=pa.string())


@dataclass(frozen=True)
class Rows:
    """A source-day's rows decided but not rendered yet: ``render()`` builds the text table.

    Rendering is deferred to the writer threads, so that the day loop (which carries state
    from day to day and cannot be split) does only the simulation. ``render`` must read only
    arrays that nothing changes afterwards (fresh copies).
    """

    num_rows: int
    render: Callable[[], pa.Table]


def materialise(rows: pa.Table | Rows) -> pa.Table:
    """The text table of rendered or deferred rows."""
    return rows if isinstance(rows, pa.Table) else rows.render()


def make_table(source: str, columns: Mapping[str, pa.Array]) -> pa.Table:
    """Assemble a table of string columns in the contract order of ``source``."""
    spec = SOURCES[source]
    return pa.table({f: columns[f] for f in spec.fields})


def _has_any(arr: pa.Array, chars: bytes) -> bool:
    """Whether any value may hold one of ``chars`` (a scan of the raw bytes; may say yes for
    bytes outside a sliced array, never no wrongly)."""
    if not isinstance(arr, pa.Array) or arr.type != pa.string():
        return True
    data = arr.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()  # bytes.find is a vectorised memchr: ~10x a numpy lookup
    return any(raw.find(c) >= 0 for c in chars)


_NEEDS_QUOTE = r'[,"\r\n]'


def csv_field(arr: pa.Array) -> pa.Array:
    """Quote a text column for CSV only where needed (comma, quote or newline)."""
    if not _has_any(arr, b',"\r\n'):
        return arr
    needs = pc.fill_null(pc.match_substring_regex(arr, _NEEDS_QUOTE), False)
    quoted = pc.binary_join_element_wise(
        pa.scalar('"'), pc.replace_substring(arr, '"', '""'), pa.scalar('"'), ""
    )
    return pc.if_else(needs, quoted, arr)


def csv_lines(table: pa.Table, end: str = "") -> pa.Array:
    """Render each row of a string table as one CSV line, ending with ``end``."""
    cols = [csv_field(c.combine_chunks()) for c in table.columns]
    if end:  # on the last field only: cheaper than a pass over whole lines
        cols[-1] = pc.binary_join_element_wise(pc.fill_null(cols[-1], ""), pa.scalar(end), "")
    if len(cols) == 1:
        return pc.fill_null(cols[0], "")
    return pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement="")


def json_string(arr: pa.Array) -> pa.Array:
    """Render a text column as JSON string literals (null → ``null``)."""
    esc = (
        pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        if _has_any(arr, b'\\"')
        else arr
    )
    quoted = pc.binary_join_element_wise(pa.scalar('"'), esc, pa.scalar('"'), "")
    return pc.fill_null(quoted, "null")


_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


def json_lines(table: pa.Table, numbers: Sequence[str], end: str = "") -> pa.Array:
    """Render each row of a string table as one JSON object (numbers unquoted when numeric),
    ending with ``end``."""
    parts: list[pa.Array | pa.Scalar] = []
    text = ""  # literal text before the next value
    for i, name in enumerate(table.column_names):
        col = table.column(name).combine_chunks()
        text += ("{" if i == 0 else ",") + f'"{name}":'
        if name in numbers:
            is_num = pc.fill_null(pc.match_substring_regex(col, _NUMBER), False)
            val = pc.fill_null(pc.if_else(is_num, col, json_string(col)), "null")
        elif col.null_count == 0 and not _has_any(col, b'\\"'):
            # nothing to escape and no null: the quotes go into the literal text around it
            parts += [pa.scalar(text + '"'), col]
            text = '"'
            continue
        else:
            val = json_string(col)
        parts += [pa.scalar(text), val]
        text = ""
    parts.append(pa.scalar(text + "}" + end))
    return pc.binary_join_element_wise(*parts, "")


def text_buffer(arr: pa.Array) -> pa.Buffer:
    """The values of a string array back to back, as a view of its data buffer (no copy)."""
    if len(arr) == 0:
        return pa.py_buffer(b"")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = arr.buffers()[2]
    assert data is not None
    return data.slice(int(offsets[0]), int(offsets[-1]) - int(offsets[0]))


def lines_buffer(lines: pa.Array) -> pa.Buffer:
    """The lines as one ``\\n``-terminated UTF-8 buffer."""
    if len(lines) == 0:
        return pa.py_buffer(b"")
    arr = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")
    return text_buffer(pa.concat_arrays([arr]) if isinstance(arr, pa.ChunkedArray) else arr)


def join_lines(lines: pa.Array) -> bytes:
    """Concatenate lines into one ``\\n``-terminated UTF-8 blob without per-row Python work."""
    blob: bytes = lines_buffer(lines).to_pybytes()
    return blob

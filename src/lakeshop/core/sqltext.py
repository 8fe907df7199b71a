"""SQL text from Python values, with one rule for each kind of piece, all rendered by sqlglot.

- **Identifiers** (:func:`ident`, :func:`table`, :func:`column`) are always quoted: ``"name"``
  in DuckDB (and delta-rs predicates), ```name``` in Spark, the quote character doubled
  inside. A name from data may hold any character and still mean itself.
- **Literals** (:func:`literal`) come from typed Python values, never from text pasted into
  SQL: ``'it''s'``, ``42``, ``0.5``, ``DATE '2026-01-02'``, ``TRUE``,
  ``NULL``, ``['a', 'b']`` (a list is an array value; a tuple is an ``IN`` list).
- **Templates** (:class:`Template`, :func:`load`) are ``.sql`` files with ``$name``
  parameters, each replaced by a literal, a sqlglot expression (an identifier, a table) or a
  :class:`Fragment` of SQL written by lakeshop itself. A parameter with no value, or a value
  for no parameter, raises :class:`TemplateError`.
- **Fragments**: column lists, ``IN`` lists, comparisons and join conditions
  (:func:`columns`, :func:`in_list`, :func:`isin`, :func:`compare`, :func:`join_on`).
- **Delta predicates** (deletes, merges and overwrites by predicate, which delta-rs
  evaluates) take their literals from :func:`delta_literal`: a datetime there is
  ``CAST('…' AS TIMESTAMP)``, as it was always written (delta-rs reads no ``TIMESTAMP '…'``).

Every function renders DuckDB's dialect unless given ``dialect="spark"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal, TypeAlias

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import SqlglotError

from lakeshop.core.errors import LakeshopError

__all__ = [
    "DUCKDB",
    "SPARK",
    "Fragment",
    "Param",
    "Template",
    "TemplateError",
    "Value",
    "column",
    "columns",
    "compare",
    "delta_literal",
    "ident",
    "in_list",
    "isin",
    "join_on",
    "literal",
    "load",
    "render",
    "table",
    "to_column",
    "to_delta_literal",
    "to_identifier",
    "to_literal",
    "to_sql",
    "to_table",
]

DUCKDB = "duckdb"
SPARK = "spark"

#: what :func:`literal` renders; of the sequences, a ``list`` (an array) or a ``tuple`` (an
#: ``IN`` list), whatever their items' types
Value: TypeAlias = "str | int | float | Decimal | bool | date | datetime | Sequence[Value] | None"

Operator = Literal["=", "<>", "<", "<=", ">", ">="]

_COMPARISONS: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "<>": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}

#: a template parameter's name, and a table alias the code writes itself (``t``, ``s``: a
#: qualifier, rendered as is)
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --- identifiers ----------------------------------------------------------------------------


def to_identifier(name: str) -> exp.Identifier:
    """``name`` as a quoted sqlglot identifier (any character; not empty, no NUL)."""
    if not isinstance(name, str):
        raise TypeError(f"an identifier is a str, not {type(name).__name__}")
    if not name or "\x00" in name:
        raise ValueError(f"not a SQL identifier: {name!r}")
    return exp.to_identifier(name, quoted=True)


def ident(name: str, dialect: str = DUCKDB) -> str:
    """One name as a quoted identifier: ``"order id"`` (DuckDB), ```order id``` (Spark)."""
    return to_identifier(name).sql(dialect=dialect)


def to_table(*parts: str) -> exp.Table:
    """A table name from its parts (``"silver", "orders"``), each quoted."""
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"a table name has one to three parts, not {len(parts)}: {parts!r}")
    names = [to_identifier(p) for p in parts]
    return exp.Table(
        this=names[-1],
        db=names[-2] if len(names) > 1 else None,
        catalog=names[-3] if len(names) > 2 else None,
    )


def table(*parts: str, dialect: str = DUCKDB) -> str:
    """A qualified name: ``table("silver", "orders")`` is ``"silver"."orders"``.

    A dotted name is split by the caller (``table(*name.split("."))``): a dot inside a part
    is part of the name.
    """
    return to_table(*parts).sql(dialect=dialect)


def to_column(name: str, qualifier: str | None = None) -> exp.Column:
    """A column, quoted, optionally qualified by an alias the code wrote (``s."amount"``)."""
    if qualifier is not None and not _WORD.match(qualifier):
        raise ValueError(f"not a table alias: {qualifier!r}")
    return exp.Column(
        this=to_identifier(name),
        table=exp.to_identifier(qualifier, quoted=False) if qualifier else None,
    )


def column(name: str, qualifier: str | None = None, dialect: str = DUCKDB) -> str:
    """One column: ``"amount"``, or ``s."amount"`` with a ``qualifier``."""
    return to_column(name, qualifier).sql(dialect=dialect)


def columns(names: Iterable[str], qualifier: str | None = None, dialect: str = DUCKDB) -> str:
    """A column list: ``"a", "b"``, or ``s."a", s."b"`` with a ``qualifier``."""
    return ", ".join(column(n, qualifier, dialect) for n in names)


# --- literals -------------------------------------------------------------------------------


def to_literal(value: Value, dialect: str = DUCKDB) -> exp.Expression:
    """A typed Python value as a sqlglot expression to render in ``dialect``.

    ``None`` is ``NULL``; a ``bool`` ``TRUE``/``FALSE``; an ``int``, ``float`` or ``Decimal``
    a number (a float in its shortest form: DuckDB and Spark read ``0.1`` as that exact
    DECIMAL and print it alike; infinities and NaN as a cast DOUBLE); a ``date`` or
    ``datetime`` a typed literal (``DATE '…'``, ``TIMESTAMP '…'``, ``TIMESTAMPTZ '…'`` when it
    has a time zone); a ``list`` an array; a ``tuple`` a parenthesised list (an ``IN`` list).
    """
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return exp.Literal.number(repr(value))
        special = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return exp.cast(exp.Literal.string(special), "DOUBLE")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"no SQL literal for the decimal {value}")
        return exp.Literal.number(format(value, "f"))
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a SQL string literal cannot hold a NUL character")
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMPNTZ"
        return _typed(kind, value.isoformat(sep=" "), dialect)
    if isinstance(value, date):
        return _typed("DATE", value.isoformat(), dialect)
    if isinstance(value, list):
        return exp.Array(expressions=[to_literal(v, dialect) for v in value])
    if isinstance(value, tuple):
        return exp.Tuple(expressions=[to_literal(v, dialect) for v in value])
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def _typed(kind: str, text: str, dialect: str) -> exp.Expression:
    """``<TYPE> '<text>'``, the typed literal DuckDB, Spark and delta-rs all read (sqlglot
    would write ``CAST('<text>' AS <TYPE>)``, which means the same)."""
    type_sql = exp.DataType.build(kind).sql(dialect=dialect)
    return exp.Var(this=f"{type_sql} {exp.Literal.string(text).sql(dialect=dialect)}")


def literal(value: Value, dialect: str = DUCKDB) -> str:
    """A typed Python value as SQL text (see :func:`to_literal`): ``'it''s'``, ``DATE '…'``."""
    return to_literal(value, dialect).sql(dialect=dialect)


def to_delta_literal(value: Value) -> exp.Expression:
    """A literal for a predicate delta-rs evaluates, in DuckDB's dialect (the Spark engine's
    Delta writer transpiles it): :func:`to_literal`'s, but a ``datetime`` is cast from text,
    ``CAST('…' AS TIMESTAMP)``, the form such predicates have always had, where delta-rs
    refuses ``TIMESTAMP '…'``. Dates are ``DATE '…'``, which delta-rs reads."""
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, list | tuple):
        items = [to_delta_literal(v) for v in value]
        return (
            exp.Array(expressions=items)
            if isinstance(value, list)
            else exp.Tuple(expressions=items)
        )
    return to_literal(value)


def delta_literal(value: Value) -> str:
    """A literal for a Delta predicate (see :func:`to_delta_literal`)."""
    return to_delta_literal(value).sql(dialect=DUCKDB)


def in_list(values: Iterable[Value], dialect: str = DUCKDB) -> str:
    """The parenthesised list after ``IN``: ``('a', 'b')`` (at least one value)."""
    items = list(values)
    if not items:
        raise ValueError("an IN list needs at least one value")
    return literal(tuple(items), dialect)


# --- predicates -----------------------------------------------------------------------------


def isin(
    name: str, values: Iterable[Value], qualifier: str | None = None, dialect: str = DUCKDB
) -> str:
    """``"name" IN (…)`` over literal values (at least one)."""
    items = list(values)
    if not items:
        raise ValueError("an IN list needs at least one value")
    node = exp.In(
        this=to_column(name, qualifier), expressions=[to_literal(v, dialect) for v in items]
    )
    return node.sql(dialect=dialect)


def compare(
    name: str,
    op: Operator,
    value: Value,
    qualifier: str | None = None,
    dialect: str = DUCKDB,
) -> str:
    """``"name" <op> <literal>``: ``compare("day", ">=", date(2026, 1, 2))``."""
    node = _COMPARISONS[op](this=to_column(name, qualifier), expression=to_literal(value, dialect))
    return node.sql(dialect=dialect)


def join_on(keys: Iterable[str], left: str = "t", right: str = "s", dialect: str = DUCKDB) -> str:
    """The equality of every key between two aliases: ``t."k" = s."k" AND …``."""
    pairs = [exp.EQ(this=to_column(k, left), expression=to_column(k, right)) for k in keys]
    if not pairs:
        raise ValueError("a join needs at least one key")
    return exp.and_(*pairs).sql(dialect=dialect)


def all_equal(names: Iterable[str], left: str, right: str, dialect: str = DUCKDB) -> str:
    """Every column equal between two aliases, NULL equal to NULL (as ``EXCEPT`` compares
    rows): ``t."c" IS NOT DISTINCT FROM s."c" AND …``."""
    pairs = [exp.NullSafeEQ(this=to_column(n, left), expression=to_column(n, right)) for n in names]
    if not pairs:
        raise ValueError("a comparison needs at least one column")
    return exp.and_(*pairs).sql(dialect=dialect)


def render(node: exp.Expression, dialect: str = DUCKDB) -> str:
    """A sqlglot expression as SQL text in ``dialect``."""
    return node.sql(dialect=dialect)


# --- templates ------------------------------------------------------------------------------


class TemplateError(LakeshopError):
    """A template's parameters and the values given do not match (or the text is not SQL)."""


class Fragment(str):
    """SQL text written by lakeshop's own code (never data), put into a template as is."""

    __slots__ = ()


Param: TypeAlias = "Value | exp.Expression | Fragment"


@dataclass(frozen=True)
class Template:
    """SQL text with ``$name`` parameters, in DuckDB's dialect.

    A parameter is ``$`` then a name (letters, digits, ``_``) in the SQL itself: text in
    string literals, quoted identifiers and comments is left as written (``'$.key'`` is a
    JSON path, ``-- $days days`` a comment). ``$1`` is DuckDB's own positional parameter.
    """

    text: str
    name: str = "SQL template"

    @property
    def parameters(self) -> frozenset[str]:
        """The names of the template's parameters."""
        return frozenset(name for _, _, name in _parameter_slots(self.text, self.name))

    def render(
        self,
        params: Mapping[str, Param] | None = None,
        /,
        *,
        dialect: str = DUCKDB,
        unused: Literal["raise", "ignore"] = "raise",
        **named: Param,
    ) -> str:
        """The SQL with every parameter replaced by its value's SQL (see :func:`to_sql`).

        Raises :class:`TemplateError` for a parameter without a value, and for a value no
        parameter takes unless ``unused="ignore"`` (one set of values for several templates).
        """
        values = {**(params or {}), **named}
        missing = sorted(self.parameters - values.keys())
        if missing:
            raise TemplateError(
                f"{self.name}: no value for parameter {', '.join('$' + m for m in missing)}"
            )
        extra = sorted(values.keys() - self.parameters)
        if extra and unused == "raise":
            takes = ", ".join("$" + p for p in sorted(self.parameters)) or "none"
            raise TemplateError(
                f"{self.name}: no parameter {', '.join('$' + e for e in extra)} "
                f"(its parameters: {takes})"
            )
        rendered = {p: to_sql(values[p], dialect) for p in self.parameters}
        parts, at = [], 0
        for start, end, name in _parameter_slots(self.text, self.name):
            parts += [self.text[at:start], rendered[name]]
            at = end
        parts.append(self.text[at:])
        return "".join(parts)


def to_sql(value: Param, dialect: str = DUCKDB) -> str:
    """A template value as SQL: a :class:`Fragment` as is, a sqlglot expression rendered, any
    other value as a literal (a negative number in parentheses, so ``- $n`` stays a minus)."""
    if isinstance(value, Fragment):
        return str(value)
    if isinstance(value, exp.Expression):
        return value.sql(dialect=dialect)
    text = literal(value, dialect)
    return f"({text})" if text.startswith("-") else text


def load(path: Path, name: str | None = None) -> Template:
    """The template in the file ``path`` (UTF-8), named by ``name`` or the file's name."""
    return Template(path.read_text(encoding="utf-8"), name or path.name)


@lru_cache(maxsize=256)
def _parameter_slots(text: str, name: str) -> tuple[tuple[int, int, str], ...]:
    """Where ``$name`` parameters are in ``text``, found by sqlglot's DuckDB tokenizer (so
    not in strings, quoted identifiers or comments)."""
    if "$" not in text:  # most SQL files take no parameter: tokenizing them costs a run ~0.2 s
        return ()
    try:
        tokens = sqlglot.tokenize(text, read=DUCKDB)
    except SqlglotError as exc:
        raise TemplateError(f"{name}: not SQL: {exc}") from exc
    slots = []
    for sign, word in pairwise(tokens):
        if sign.token_type is not TokenType.PARAMETER or word.start != sign.end + 1:
            continue
        written = text[word.start : word.end + 1]
        if _WORD.match(written):
            slots.append((sign.start, word.end + 1, written))
    return tuple(slots)

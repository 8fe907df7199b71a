"""The SQL-text toolkit: literals DuckDB reads back as the value, identifiers that name any
column, templates that refuse a missing or unknown parameter, Spark's dialect, and a guard
against SQL quoted by hand anywhere else in the package."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from lakeshop.core import sqltext
from lakeshop.core.errors import LakeshopError
from lakeshop.core.sqltext import (
    SPARK,
    Fragment,
    Template,
    TemplateError,
    column,
    columns,
    compare,
    ident,
    in_list,
    isin,
    join_on,
    literal,
    table,
    to_table,
)

TRICKY_STRINGS = {
    "empty": "",
    "quote": "it's",
    "quotes": "''''",
    "double-quote": 'say "hi"',
    "backslash": "C:\\temp\\new",
    "backslash-quote": "\\'",
    "newline": "one\ntwo\r\nthree",
    "tab": "a\tb",
    "injection": "'; DROP TABLE x; --",
    "comment": "/* not a comment */ -- nor this",
    "dollar": "$as_of $$ $1",
    "unicode": "café ünïcødé 日本語 🦆",
    "json-path": "$.key",
    "braces": "{name} %s ?",
}

VALUES = {
    **{f"str-{k}": v for k, v in TRICKY_STRINGS.items()},
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int": 42,
    "negative-int": -7,
    "bigint": 2**62,
    "smallest-bigint": -(2**63),
    "decimal": Decimal("1234.50"),
    "negative-decimal": Decimal("-0.001"),
    "decimal-exponent": Decimal("1E+3"),
    "date": date(2026, 1, 2),
    "leap-day": date(2024, 2, 29),
    "datetime": datetime(2026, 1, 2, 3, 4, 5),
    "datetime-micros": datetime(2026, 1, 2, 3, 4, 5, 123456),
    "datetime-utc": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "datetime-offset": datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))
    ),
    "list-str": ["a", "it's", "\\"],
    "list-int": [1, 2, 3],
    "list-empty-str": [""],
}

FLOATS = {
    "float": 0.1,
    "float-sum": 0.1 + 0.2,
    "float-negative": -2.5,
    "float-large": 1e300,
    "float-tiny": 5e-324,
    "float-whole": 100.0,
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    return c


def read_back(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(f"SELECT {sql}").fetchall()[0][0]


# --- literals -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_a_literal_reads_back_as_its_value(con: duckdb.DuckDBPyConnection, value: object) -> None:
    got = read_back(con, literal(value))  # type: ignore[arg-type]
    assert got == value
    # of the same type, but a whole Decimal, which is written as an integer
    assert type(got) is type(value) or value == Decimal("1E+3")


@pytest.mark.parametrize("value", list(FLOATS.values()), ids=list(FLOATS))
def test_a_float_reads_back_as_the_same_number(
    con: duckdb.DuckDBPyConnection, value: float
) -> None:
    # written in its shortest form: DuckDB reads 0.1 as the exact DECIMAL 0.1 (as Spark does)
    assert float(read_back(con, literal(value))) == value  # type: ignore[arg-type]
    assert read_back(con, f"CAST({literal(value)} AS DOUBLE)") == value


def test_special_floats_are_doubles(con: duckdb.DuckDBPyConnection) -> None:
    assert read_back(con, literal(float("inf"))) == float("inf")
    assert read_back(con, literal(float("-inf"))) == float("-inf")
    nan = read_back(con, literal(float("nan")))
    assert isinstance(nan, float) and nan != nan


@pytest.mark.parametrize("text", list(TRICKY_STRINGS.values()), ids=list(TRICKY_STRINGS))
def test_a_string_is_one_literal_whatever_it_holds(text: str) -> None:
    """Whatever it holds, the literal parses as one string literal equal to it, in DuckDB
    and in Spark (where a backslash escapes)."""
    for dialect in ("duckdb", SPARK):
        node = sqlglot.parse_one(literal(text, dialect), read=dialect)
        assert isinstance(node, exp.Literal) and node.is_string, dialect
        assert node.this == text, dialect


def test_literals_take_typed_values_only() -> None:
    with pytest.raises(TypeError, match="no SQL literal for bytes"):
        literal(b"x")
    with pytest.raises(TypeError, match="no SQL literal for set"):
        literal({1, 2})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")
    with pytest.raises(ValueError, match="decimal"):
        literal(Decimal("NaN"))


def test_typed_literals_have_the_dialects_type_names() -> None:
    day, moment = date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5)
    assert literal(day) == "DATE '2026-01-02'" == literal(day, SPARK)
    assert literal(moment) == "TIMESTAMP '2026-01-02 03:04:05'"
    assert literal(moment, SPARK) == "TIMESTAMP_NTZ '2026-01-02 03:04:05'"
    aware = moment.replace(tzinfo=UTC)
    assert literal(aware) == "TIMESTAMPTZ '2026-01-02 03:04:05+00:00'"
    assert literal(aware, SPARK) == "TIMESTAMP '2026-01-02 03:04:05+00:00'"
    assert literal(["a", day]) == "['a', DATE '2026-01-02']"
    assert literal(["a", day], SPARK) == "ARRAY('a', DATE '2026-01-02')"
    assert literal("it's", SPARK) == "'it\\'s'"
    assert literal(True, SPARK) == "TRUE" and literal(None, SPARK) == "NULL"


def test_in_lists(con: duckdb.DuckDBPyConnection) -> None:
    assert in_list(["a", "it's"]) == "('a', 'it''s')"
    assert in_list([1]) == "(1)"
    assert read_back(con, f"'it''s' IN {in_list(['a', 'it' + chr(39) + 's'])}") is True
    assert isin("my col", [date(2026, 1, 1), None]) == "\"my col\" IN (DATE '2026-01-01', NULL)"
    with pytest.raises(ValueError, match="at least one"):
        in_list([])
    with pytest.raises(ValueError, match="at least one"):
        isin("c", [])


# --- identifiers ----------------------------------------------------------------------------

NAMES = {
    "plain": "amount",
    "space": "order id",
    "double-quote": 'say "hi"',
    "backtick": "odd`name",
    "single-quote": "it's",
    "unicode": "prix_€_日本",
    "reserved-select": "select",
    "reserved-order": "order",
    "dot": "a.b",
    "digits-first": "1st",
    "upper": "Amount",
    "dollar": "$as_of",
    "injection": 'x"; DROP TABLE t; --',
}


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_an_identifier_names_its_column_whatever_it_holds(
    con: duckdb.DuckDBPyConnection, name: str
) -> None:
    quoted = ident(name)
    got = con.execute(f"SELECT 1 AS {quoted}").description[0][0]
    assert got == name
    assert con.execute(
        f"SELECT {column(name, 't')} FROM (SELECT 7 AS {quoted}) AS t"
    ).fetchall() == [(7,)]


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_a_spark_identifier_is_one_backquoted_name(name: str) -> None:
    quoted = ident(name, SPARK)
    assert quoted.startswith("`") and quoted.endswith("`")
    node = sqlglot.parse_one(quoted, read=SPARK)
    assert isinstance(node, exp.Column) and node.name == name


def test_identifiers_are_always_quoted() -> None:
    assert ident("amount") == '"amount"' and ident("amount", SPARK) == "`amount`"
    assert table("silver", "orders") == '"silver"."orders"'
    assert table("silver", "orders", dialect=SPARK) == "`silver`.`orders`"
    assert table("a.b") == '"a.b"'  # a dot inside a part is part of the name
    assert to_table("cat", "silver", "orders").sql("duckdb") == '"cat"."silver"."orders"'
    assert column("k", "s") == 's."k"' and column("k", "s", SPARK) == "s.`k`"
    assert columns(["a", "b c"]) == '"a", "b c"'
    assert columns(["a", "b"], "s", SPARK) == "s.`a`, s.`b`"
    assert join_on(["a", "b"]) == 't."a" = s."a" AND t."b" = s."b"'
    assert compare("day", ">=", date(2026, 1, 2)) == "\"day\" >= DATE '2026-01-02'"
    assert compare("n", "<>", 3, "t", SPARK) == "t.`n` <> 3"


def test_names_that_are_not_identifiers_are_refused() -> None:
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="identifier"):
            ident(bad)
    with pytest.raises(TypeError):
        ident(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alias"):
        column("k", "s; DROP")
    with pytest.raises(ValueError, match="key"):
        join_on([])
    with pytest.raises(ValueError, match="parts"):
        table()


# --- templates ------------------------------------------------------------------------------

TEMPLATE = """-- Rows of $table since $since ($days days), not '$quoted' nor "$ident"
SELECT '$.key' AS path, $1 AS positional, $since - $days AS start, "$ident"
FROM $table
WHERE name IN $names AND note = $note /* $comment */"""


def test_a_template_substitutes_literals_and_identifiers() -> None:
    t = Template(TEMPLATE, "demo.sql")
    assert t.parameters == {"table", "since", "days", "names", "note"}
    sql = t.render(
        table=to_table("silver", "orders"),
        since=date(2026, 1, 2),
        days=-3,
        names=("a", "it's"),
        note="'; DROP TABLE x; --",
    )
    assert sql.splitlines()[0] == TEMPLATE.splitlines()[0]  # the comment is left as written
    assert "SELECT '$.key' AS path, $1 AS positional, DATE '2026-01-02' - (-3) AS start" in sql
    assert 'FROM "silver"."orders"' in sql
    assert "WHERE name IN ('a', 'it''s') AND note = '''; DROP TABLE x; --' /* $comment */" in sql
    # one statement, whatever the values held
    assert len(sqlglot.parse(sql, read="duckdb")) == 1


def test_a_template_refuses_a_missing_or_unknown_parameter() -> None:
    t = Template("SELECT $a + $b", "sum.sql")
    with pytest.raises(TemplateError, match=r"sum\.sql: no value for parameter \$b"):
        t.render(a=1)
    with pytest.raises(
        TemplateError, match=r"sum\.sql: no parameter \$c \(its parameters: \$a, \$b\)"
    ):
        t.render(a=1, b=2, c=3)
    assert t.render({"a": 1}, b=2, c=3, unused="ignore") == "SELECT 1 + 2"
    assert issubclass(TemplateError, LakeshopError)
    with pytest.raises(TemplateError, match="no parameter"):
        Template("SELECT 1").render(a=1)


def test_a_template_value_is_a_literal_unless_said_otherwise() -> None:
    t = Template("SELECT $x FROM $source")
    assert t.render(x="t", source=Fragment("(SELECT 1 AS t)")) == "SELECT 't' FROM (SELECT 1 AS t)"
    assert t.render(x=exp.column("t"), source=to_table("s")) == 'SELECT t FROM "s"'
    assert t.render(x=date(2026, 1, 2), source=to_table("s"), dialect=SPARK) == (
        "SELECT DATE '2026-01-02' FROM `s`"
    )


def test_a_template_file_is_named_in_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "rule.sql"
    path.write_text("SELECT $threshold", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"rule\.sql: no value for parameter \$threshold"):
        sqltext.load(path).render()
    assert sqltext.load(path, "alert rule x").render(threshold=0.5) == "SELECT 0.5"
    with pytest.raises(TemplateError, match="alert rule x: not SQL"):
        Template("SELECT $x, 'unterminated", "alert rule x").render(x=1)


def test_the_alert_rules_render_with_the_toolkit() -> None:
    """The alert rules' parameters, found by the toolkit (alerts.py renders them with
    Template.render) as the regex alerts.py used to render them with finds them."""
    rules = Path(sqltext.__file__).parents[1] / "retail" / "sql" / "alerts"
    for path in sorted(rules.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        assert sqltext.load(path).parameters == set(re.findall(r"\$([a-z_]+)\b", text)), path


# --- no SQL quoted by hand elsewhere --------------------------------------------------------

PACKAGE = Path(sqltext.__file__).parents[1]

HAND_QUOTING = {
    "escaped single quotes": re.compile(r"""\.replace\(\s*["']'["']\s*,"""),
    "escaped double quotes": re.compile(r"""\.replace\(\s*'"'\s*,"""),
    "escaped backticks": re.compile(r"""\.replace\(\s*["']`["']\s*,"""),
    "a quote glued to a value": re.compile(r"""["'][`']["']\s*\+|\+\s*["'][`']["']"""),
    # not a JSON key ("{k}":) nor an HTML attribute (id="{x}")
    "an identifier quoted in an f-string": re.compile(r"""f'[^'\n]*(?<!=)"\{[^{}\n]*\}"(?!:)"""),
    "an identifier quoted with escapes": re.compile(r'\\"\{[^{}\n]*\}\\"'),
    "an identifier backquoted in an f-string": re.compile(r"(?<!`)`\{[^{}\n]*\}`(?!`)"),
    "a string literal in an f-string": re.compile(
        r"(?:[=(,]|\b(?:DATE|TIMESTAMP|TIMESTAMPTZ|INTERVAL|LIKE|IN))\s*'\{[^{}\n]*\}'"
    ),
    "a quoting or literal helper": re.compile(r"def _?(?:quote|literal|sql_string)\w*\("),
    # on SQL text (the report's HTML page is a string.Template too, and may stay one)
    "string.Template": re.compile(r"Template\(.*sql.*\)\.(?:safe_)?substitute\(", re.IGNORECASE),
    "a $parameter regex": re.compile(r"re\.compile\(r?[\"']\\\$"),
}


def hand_quoted(text: str) -> list[str]:
    return [
        f"{n}: {what}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        for what, pattern in HAND_QUOTING.items()
        if pattern.search(line)
    ]


def test_the_guard_finds_hand_quoting() -> None:
    samples = [
        """x = "'" + v.replace("'", "''") + "'\"""",
        """f'"{name}"'""",
        """f't."{k}" = s."{k}"'""",
        'f"CREATE SCHEMA \\"{schema}\\""',
        'f"ALTER TABLE delta.`{path}`"',
        """f"WHERE source = '{table.source}'\"""",
        """f"DATE '{day.isoformat()}'\"""",
        "def quote(identifier: str) -> str:",
        "def _literal(value: object) -> str:",
        "return Template(_sql_text(name)).substitute(source=source, **params)",
        '_PARAM = re.compile(r"\\$([a-z_]+)\\b")',
    ]
    for sample in samples:
        assert hand_quoted(sample), sample
    # JSON keys, messages and docstrings are not SQL
    not_sql = [
        """f'"{k}":'""",
        """f"no column '{name}' in {table}\"""",
        "f'{a}.{b}'",
        'f"{x}"',
        "text + '\"'",
        "``{table, kind}``",
        """f'<div id="{chart_id}">'""",
        "Template(TEMPLATE.read_text(encoding='utf-8')).substitute(",
    ]
    for sample in not_sql:
        assert not hand_quoted(sample), sample


def test_sql_is_quoted_only_by_the_toolkit() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "core/sqltext.py":
            continue
        found += [f"{relative}:{hit}" for hit in hand_quoted(path.read_text(encoding="utf-8"))]
    assert not found, "quote with lakeshop.core.sqltext:\n" + "\n".join(found)

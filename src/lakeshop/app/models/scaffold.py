"""``lakeshop new model NAME --kind K``: a model's SQL and a commented declaration to start
from, each key of its kind explained."""

from __future__ import annotations

import re
from pathlib import Path

from lakeshop.app.models.loader import MODELS_DIR
from lakeshop.app.models.spec import NAME
from lakeshop.core.errors import ConfigError

#: what each kind adds to the declaration, commented
_KIND_KEYS = {
    "append": """\
# append: new rows of the first table of FROM are added once per key (a re-sent key is
# not appended again); rows already stored never change
keys: [id]                     # the columns identifying a row
sequence: updated_at           # optional: the latest of a key within one delivery wins
""",
    "upsert": """\
# upsert: new rows of the first table of FROM replace the stored row of their key
keys: [id]                     # the columns identifying a row
sequence: updated_at           # the column ordering versions of a key: latest wins
""",
    "scd2": """\
# scd2: the SQL returns every version of each key; lakeshop keeps the history with
# valid_from, valid_to and is_current, and a surrogate key per version
keys: [id]                     # the one business key
sequence: updated_at           # the column ordering its versions
surrogate_key: {name}_sk       # the version key column lakeshop adds
""",
    "materialized": """\
# materialized: recomputed from the tables it reads; with incremental_by, only the
# values its upstream changes touch (otherwise the whole table, when an upstream changed)
keys: [day]                    # the columns identifying a row
# incremental_by: day          # the column whose values are recomputed
# touched:                     # per upstream: the values its changed rows touch (the
#   gold.fact_sales: SELECT order_date FROM gold.fact_sales   # name = changed rows only)
# scope:                       # optional, per upstream: the value each of its rows feeds
#   gold.fact_sales: order_date
""",
    "view": """\
# view: nothing stored; readers compute it from the tables it reads
""",
}

_SQL = {
    "append": "SELECT payment_id AS id, order_id, amount, transaction_ts AS updated_at\nFROM silver.payments\n",
    "upsert": "SELECT order_id AS id, status, updated_at\nFROM silver.orders\n",
    "scd2": "SELECT customer_id AS id, loyalty_tier, updated_at\nFROM silver.customers_history\n",
    "materialized": "SELECT order_date AS day, count(*) AS lines, sum(sales_total_base) AS revenue\nFROM gold.fact_sales\nGROUP BY order_date\n",
    "view": "SELECT order_date AS day, sum(sales_total_base) AS revenue\nFROM gold.fact_sales\nGROUP BY order_date\n",
}


EXAMPLES = Path(__file__).parent / "examples"


def write_examples(directory: Path) -> list[Path]:
    """Copy the demo's example models and their unit tests into the project (files already
    there are kept as they are)."""
    written = []
    for path in sorted(EXAMPLES.rglob("*")):
        if not path.is_file() or path.suffix not in (".sql", ".yml"):
            continue
        dest = directory / path.relative_to(EXAMPLES)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
        written.append(dest)
    return written


def new_model(directory: Path, name: str, kind: str) -> list[Path]:
    """Write ``models/<name>.sql`` and ``models/<name>.yml`` (refused if either exists)."""
    schema, _, short = name.rpartition(".")
    if not re.match(NAME, short) or (schema and not re.match(NAME, schema)):
        raise ConfigError("NAME", "a table name (letters, digits, _), optionally schema.name", name)
    if kind not in _KIND_KEYS:
        raise ConfigError("--kind", f"one of {', '.join(_KIND_KEYS)}", kind)
    folder = directory / MODELS_DIR
    sql, yml = folder / f"{short}.sql", folder / f"{short}.yml"
    for path in (sql, yml):
        if path.exists():
            raise ConfigError("NAME", f"a model not yet written ({path} exists)", name)
    folder.mkdir(parents=True, exist_ok=True)
    sql.write_text(
        f"-- {schema or 'gold'}.{short}: one SELECT in DuckDB's dialect, reading lakeshop's tables\n"
        "-- (silver.*, gold.*) and other models by schema.name; its declaration is\n"
        f"-- {short}.yml. Check it with `lakeshop compile {short}`, test it with `lakeshop test {short}`.\n"
        + _SQL[kind],
        encoding="utf-8",
    )
    yml.write_text(
        f"# the declaration of models/{short}.sql\n"
        f"description: What a row of {short} is.\n"
        "owner: you@example.com\n"
        + (
            f"schema: {schema}\n"
            if schema and schema != "gold"
            else "# schema: gold          # silver, gold or a schema of yours\n"
        )
        + f"kind: {kind}\n"
        + _KIND_KEYS[kind].format(name=short)
        + "columns:                       # descriptions, shown by lineage and the docs\n"
        "  # day: The business day.\n"
        + (
            ""
            if kind == "view"
            else "expectations:                  # warn (kept, counted), drop (quarantined),\n"
            "  # - name: revenue_known     # fail (nothing committed), retry (held, checked again)\n"
            "  #   check: revenue IS NOT NULL\n"
            "  #   action: warn\n"
        ),
        encoding="utf-8",
    )
    return [sql, yml]

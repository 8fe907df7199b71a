"""Project models over another company's export (tests/exports/invoices: invoice lines in
pounds, credit notes as ``C`` invoices, guest lines without a customer): a revenue mart by
customer country and a view in a schema of the shop's own. Delivered in two steps, the models
equal a full refresh and a plain query over the export's files; their unit tests, written
with rows shaped like the shop's, pass and catch a wrong expectation."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lakeshop.app.project import Project
from tests.app.model_files import write
from tests.conftest import cli
from tests.retail.conftest import deliver, rows, run_ok
from tests.retail.test_invoice_export import CONFIG, EXPORT

STORES = "store_id,name,channel,currency\nUK-WEB,Online shop,online,GBP\n"

COUNTRY_SQL = """
-- revenue per customer country in pounds, less the shop's credit notes; guests apart
WITH sold AS (
    SELECT COALESCE(c.country, 'guest') AS country, SUM(s.sales_total_base) AS gross
    FROM gold.fact_sales AS s
    LEFT JOIN gold.dim_customer AS c ON c.customer_sk = s.customer_sk
    WHERE s.is_revenue
    GROUP BY 1
),
credited AS (
    SELECT COALESCE(c.country, 'guest') AS country, SUM(r.return_amount_base) AS credits
    FROM gold.fact_returns AS r
    LEFT JOIN gold.dim_customer AS c ON c.customer_sk = r.customer_sk
    WHERE r.is_credit_note
    GROUP BY 1
)
SELECT
    COALESCE(s.country, k.country) AS country,
    CAST(COALESCE(s.gross, 0) AS DECIMAL(18, 2)) AS gross,
    CAST(COALESCE(k.credits, 0) AS DECIMAL(18, 2)) AS credits,
    CAST(COALESCE(s.gross, 0) - COALESCE(k.credits, 0) AS DECIMAL(18, 2)) AS net
FROM sold AS s
FULL OUTER JOIN credited AS k ON k.country = s.country
"""
COUNTRY_YML = """
description: Revenue per customer country, net of credit notes (guests as 'guest').
owner: finance@online-retail.example
kind: materialized
keys: [country]
expectations:
  - {name: net_below_gross, check: net <= gross, action: fail}
"""
SHARE_SQL = """
SELECT country, ROUND(credits / NULLIF(gross, 0), 4) AS credit_share
FROM gold.country_revenue
"""
CASES = """
guests_and_credit_notes:
  model: gold.country_revenue
  inputs:
    gold.fact_sales:
      rows:
        - {customer_sk: k1, sales_total_base: 17.40, is_revenue: true}
        - {customer_sk: k1, sales_total_base: 2.60, is_revenue: true}
        - {customer_sk: guest, sales_total_base: 5.00, is_revenue: true}
      types: {sales_total_base: "DECIMAL(18, 2)"}
    gold.dim_customer:
      - {customer_sk: k1, customer_id: "13491", country: United Kingdom}
      - {customer_sk: guest, customer_id: null, country: null}
    gold.fact_returns:
      rows:
        - {customer_sk: k1, return_amount_base: 4.25, is_credit_note: true}
      types: {return_amount_base: "DECIMAL(18, 2)"}
  expect:
    - {country: United Kingdom, gross: 20.00, credits: 4.25, net: 15.75}
    - {country: guest, gross: 5.00, credits: 0, net: 5.00}
"""


def _shop(root: Path) -> Project:
    (root / "lakeshop.yml").write_text(CONFIG)
    write(root, "country_revenue", COUNTRY_SQL, COUNTRY_YML)
    write(root, "credit_share", SHARE_SQL, "kind: view\nschema: finance\n")
    (root / "tests").mkdir()
    (root / "tests" / "country_revenue.yml").write_text(textwrap.dedent(CASES).lstrip())
    return Project.load(root)


def _plain(landing: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """Gross and credits per country, straight from the export (guest lines apart)."""
    found = duckdb.execute(
        f"""
        WITH lines AS (
            SELECT
                CASE WHEN "Customer ID" IS NULL THEN 'guest' ELSE Country END AS country,
                Invoice LIKE 'C%' OR CAST(Quantity AS INTEGER) < 0 AS credit,
                CAST(Quantity AS INTEGER) * CAST(Price AS DECIMAL(18, 2)) AS total
            FROM read_csv('{landing / "invoices" / "*.csv"}', all_varchar = true)
            WHERE Invoice NOT LIKE 'A%'
        )
        SELECT country,
            COALESCE(SUM(total) FILTER (WHERE NOT credit), 0),
            COALESCE(SUM(ABS(total)) FILTER (WHERE credit), 0)
        FROM lines GROUP BY country
        """
    ).fetchall()
    return {c: (Decimal(g), Decimal(k)) for c, g, k in found}


@pytest.mark.slow
def test_models_over_the_invoice_export_equal_the_export_and_a_full_refresh(tmp_path: Path):
    shop = _shop(tmp_path)
    assert shop.models.refused == {}
    landing = tmp_path / "landing"
    files = sorted(EXPORT.glob("*.csv"))
    # two deliveries: the 2010 invoices, then the 2011 ones
    deliver(landing, {"stores.csv": STORES, f"invoices/{files[0].name}": files[0].read_text()})
    run_ok(shop)
    deliver(landing, {f"invoices/{files[1].name}": files[1].read_text()}, delivery=2)
    run_ok(shop)
    mart = {
        r["country"]: (r["gross"], r["credits"])
        for r in rows(shop, "SELECT * FROM gold.country_revenue")
    }
    plain = _plain(landing)
    assert mart == plain
    assert "guest" in mart and any(k > 0 for _, k in mart.values())
    share = {
        r["country"]: r["credit_share"] for r in rows(shop, "SELECT * FROM finance.credit_share")
    }
    assert set(share) == set(plain)
    run_ok(shop, full_refresh=True)
    again = {
        r["country"]: (r["gross"], r["credits"])
        for r in rows(shop, "SELECT * FROM gold.country_revenue")
    }
    assert again == mart


def test_the_shops_model_tests_pass_and_catch_a_wrong_row(tmp_path: Path):
    _shop(tmp_path)
    code, out, err = cli("--project", tmp_path, "test")
    assert code == 0, out + err
    assert "passed duckdb gold.country_revenue guests_and_credit_notes" in out
    cases = tmp_path / "tests" / "country_revenue.yml"
    cases.write_text(cases.read_text().replace("net: 15.75", "net: 20.00"))
    code, out, _ = cli("--project", tmp_path, "test", "country_revenue")
    assert code == 1
    # as written in the case (YAML reads 20.00 as 20.0) beside what the SQL returned
    assert "United Kingdom  20.0   4.25     20.0   │  United Kingdom  20.00  4.25     15.75" in out

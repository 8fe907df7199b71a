"""Unicode in keys and file names: invisible and right-to-left characters in codes, homoglyph
and NFC/NFD file names, NFC and NFD spellings of one key. Each run ends with ``doctor``
passing and the tables equal to an undisturbed run of the same input."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from lakeshop.app import api
from tests.adversarial.shop import FILES, encoded, rows, run_ok, same_as, settled, shop

pytestmark = pytest.mark.slow

ORDERS = "orders_2026-01-01.csv"
HEADER = FILES[ORDERS].splitlines()[0]


def with_order(line: str) -> dict[str, bytes]:
    files = dict(FILES)
    files[ORDERS] += line + "\n"
    return encoded(files)


@pytest.mark.parametrize(
    "code",
    ["S2\u200b", "\u200dS2", "S2\u202e", "\ufeffS2", "S\u00a02"],
    ids=["zero-width-space", "zero-width-joiner", "rtl-override", "bom", "no-break-space"],
)
def test_an_invisible_character_makes_another_code_held_with_its_reason(
    code: str, tmp_path: Path
) -> None:
    project = shop(tmp_path, with_order(f"O9,C1,{code},online,2026-01-01 13:00:00,EUR,placed,"))
    run_ok(project)
    settled(project)
    held = rows(project, "SELECT * FROM silver.orders__quarantine WHERE order_id = 'O9'")
    assert len(held) == 1 and "store_id_known" in held[0]["_failed_expectations"], held
    assert held[0]["store_id"] == code  # kept as received
    assert rows(project, "SELECT * FROM silver.orders WHERE order_id = 'O9'") == []


def test_right_to_left_text_in_values_is_kept_exactly(tmp_path: Path) -> None:
    files = dict(FILES)
    name = "\u202eSpoof \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"
    files["products.csv"] += f"P4,SKU-4,{name},Home,3.00,1.00,EUR\n"
    project = shop(tmp_path, encoded(files))
    run_ok(project)
    settled(project)
    got = rows(project, "SELECT name FROM silver.products WHERE product_id = 'P4'")
    assert got == [{"name": name}]


def test_a_homoglyph_file_name_is_not_a_delivery_of_the_source(tmp_path: Path) -> None:
    calm = shop(tmp_path / "calm")
    run_ok(calm)
    files = encoded(FILES)
    # Cyrillic "о" (U+043E) for the Latin "o": looks like an orders file, is not one
    files["\u043erders_2026-01-02.csv"] = (
        HEADER + "\nO7,C1,S1,store,2026-01-02 10:00:00,CHF,placed,\n"
    ).encode()
    project = shop(tmp_path / "base", files)
    summary = api.run(project).summary
    assert summary.status == "ok"
    assert summary.unmatched == ["\u043erders_2026-01-02.csv"], summary.unmatched
    same_as(settled(calm), project)


def test_nfc_and_nfd_file_names_are_two_files_of_one_content(tmp_path: Path) -> None:
    calm = shop(tmp_path / "calm")
    run_ok(calm)
    files = encoded(FILES)
    text = files.pop(ORDERS)
    nfc = unicodedata.normalize("NFC", "orders_2026-01-01_café.csv")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    project = shop(tmp_path / "base", {**files, nfc: text, nfd: text})
    run_ok(project)
    log = {r["path"]: r["status"] for r in rows(project, "SELECT * FROM _system.files")}
    assert sorted([log[nfc], log[nfd]]) == ["duplicate", "ingested"]
    # the same rows as the plain file, once (only the file name in bronze differs)
    got = rows(project, "SELECT order_id, status FROM silver.orders ORDER BY ALL")
    assert got == rows(calm, "SELECT order_id, status FROM silver.orders ORDER BY ALL")
    settled(project)


def test_nfc_and_nfd_spellings_of_a_key_are_one_key(tmp_path: Path) -> None:
    files = dict(FILES)
    key = unicodedata.normalize("NFC", "CÉ1")
    files["customers.csv"] += f"{key},Zoé,X,z@example.com,Lyon,FR,2026-01-01 09:00:00\n"
    nfd = unicodedata.normalize("NFD", key)
    files[ORDERS] += f"O9,{nfd},S2,online,2026-01-01 13:00:00,EUR,placed,\n"
    project = shop(tmp_path, encoded(files))
    run_ok(project)
    settled(project)
    got = rows(project, "SELECT customer_id FROM silver.orders WHERE order_id = 'O9'")
    assert got == [{"customer_id": key}]  # one customer, spelled as NFC
    # bronze keeps the key as received
    got = rows(project, "SELECT customer_id FROM bronze.orders WHERE order_id = 'O9'")
    assert got == [{"customer_id": nfd}]
    assert rows(project, "SELECT * FROM silver.orders__quarantine WHERE order_id = 'O9'") == []

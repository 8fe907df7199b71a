"""Encodings and line ends: the shop's export in UTF-16, with a BOM, in Latin-1, with CRLF or
lone CR line ends gives exactly the tables of the plain UTF-8 export; a file in the wrong
encoding, or with NUL bytes, is refused naming the byte (never quoting the content) and the
rest of the run goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.app import api
from tests.adversarial.shop import (
    FILES,
    REASONS,
    Snapshot,
    calm,
    config,
    deliver,
    encoded,
    files_log,
    rows,
    run_ok,
    same_as,
    settled,
    shop,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The shop's plain UTF-8 export, run once."""
    project = shop(tmp_path_factory.mktemp("undisturbed"))
    run_ok(project)
    return settled(project)


def every_source(**options: str) -> str:
    return config(
        **{
            name: dict(options)
            for name in ("stores", "customers", "products", "orders", "order_items")
        }
    )


@pytest.mark.parametrize(
    ("encoding", "declared", "newline"),
    [
        ("utf-8-sig", None, "\n"),  # a UTF-8 byte order mark on every file
        ("utf-16", "utf-16", "\n"),  # UTF-16 with its BOM (little-endian here)
        ("utf-16-be", "utf-16-be", "\n"),  # no BOM, declared
        ("latin-1", "latin-1", "\n"),  # the stores and orders (the rest does not fit Latin-1)
        ("utf-8", None, "\r\n"),
        ("utf-8", None, "\r"),  # lone CR: old Mac exports
        ("utf-16", "utf-16", "\r\n"),  # Windows' "Unicode text"
    ],
    ids=["utf8-bom", "utf16", "utf16be-no-bom", "latin1", "crlf", "lone-cr", "utf16-crlf"],
)
def test_an_encoding_or_line_end_gives_the_plain_exports_tables(
    encoding: str, declared: str | None, newline: str, tmp_path: Path, undisturbed: Snapshot
) -> None:
    files = dict(FILES)
    if encoding == "latin-1":  # what Latin-1 cannot hold stays UTF-8, in its own source's files
        latin = {"stores.csv": "stores", "orders_2026-01-01.csv": "orders"}
        data = encoded(files)
        data.update(encoded({n: files[n] for n in latin}, encoding, newline))
        text = config(**{source: {"encoding": declared} for source in latin.values()})
    else:
        data = encoded(files, encoding, newline)
        text = every_source(encoding=declared) if declared else config()
    project = shop(tmp_path, data, text)
    run_ok(project)
    same_as(undisturbed, project)


def test_a_file_in_another_encoding_is_refused_naming_the_byte(tmp_path: Path) -> None:
    files = encoded(FILES)
    # stores exported in Latin-1 by mistake: the run names the byte, not the text
    files["stores.csv"] = FILES["stores.csv"].encode("latin-1")
    project = shop(tmp_path / "base", files)
    run_ok(project, "refused")
    entry = files_log(project)["stores.csv"]
    first = FILES["stores.csv"].encode("latin-1").index("é".encode("latin-1"))
    assert entry["status"] == "error"
    assert f"not valid utf-8 text at byte {first}" in entry["error"], entry["error"]
    assert "Zo" not in entry["error"] and "options.encoding" in entry["error"]
    settled(project)
    # re-delivered in UTF-8: the lakehouse equals the undisturbed run's
    deliver(project.landing, {"stores.csv": FILES["stores.csv"].encode()})
    run_ok(project)
    # equal but for the reasons of O4, quarantined for good (its order_ts does not parse):
    # it keeps the reasons it was judged with, the store then unknown among them
    same_as(settled(calm(tmp_path), REASONS), project, REASONS)
    held = rows(project, "SELECT * FROM silver.orders__quarantine WHERE order_id = 'O4'")
    assert held[0]["_failed_expectations"] == ["store_id_known", "order_ts_parseable"]


def test_mixed_encodings_in_one_file_are_refused(tmp_path: Path) -> None:
    # the first lines UTF-8, a line appended by a Latin-1 tool
    files = encoded(FILES)
    files["stores.csv"] += "S3,Genève,store,Genève,CH,CHF\n".encode("latin-1")
    project = shop(tmp_path, files)
    run_ok(project, "refused")
    entry = files_log(project)["stores.csv"]
    assert entry["status"] == "error" and "not valid utf-8 text at byte" in entry["error"]
    settled(project)


@pytest.mark.parametrize("where", ["start", "deep"], ids=["nul-at-start", "nul-past-64k"])
def test_nul_bytes_refuse_the_file_wherever_they_are(where: str, tmp_path: Path) -> None:
    files = encoded(FILES)
    filler = "".join(
        f"C{i:06d},A,B,a{i}@example.com,X,SE,2026-01-01 09:00:00\n" for i in range(2000)
    )
    assert len(filler) > 1 << 16
    bad = FILES["customers.csv"] + (filler if where == "deep" else "") + "C9,N\x00L,Z,,,,\n"
    files["customers.csv"] = bad.encode()
    project = shop(tmp_path / "base", files)
    run_ok(project, "refused")
    entry = files_log(project)["customers.csv"]
    assert entry["status"] == "error" and "NUL" in entry["error"], entry
    if where == "deep":  # the line, never the value
        assert "on line 2005" in entry["error"] and "N\x00L" not in entry["error"]
    settled(project)
    deliver(project.landing, {"customers.csv": FILES["customers.csv"].encode()})
    run_ok(project)
    same_as(settled(calm(tmp_path), REASONS), project, REASONS)


def test_utf16_without_its_encoding_is_refused_not_read_as_garbage(tmp_path: Path) -> None:
    files = encoded(FILES)
    files["products.csv"] = FILES["products.csv"].encode("utf-16")
    project = shop(tmp_path, files)
    run_ok(project, "refused")
    entry = files_log(project)["products.csv"]
    assert entry["status"] == "error" and entry["rows"] == 0, entry
    assert project.lakehouse().read("bronze.products").num_rows == 0
    settled(project)


def test_a_full_refresh_reads_the_raw_copies_as_they_were_read(
    tmp_path: Path, undisturbed: Snapshot
) -> None:
    # UTF-16 with CRLF everywhere: the raw copies keep the bytes, the rebuild decodes them alike
    text = config(
        **{
            n: {"encoding": "utf-16"}
            for n in ("stores", "customers", "products", "orders", "order_items")
        }
    )
    project = shop(tmp_path, encoded(FILES, "utf-16", "\r\n"), text)
    run_ok(project)
    for path in project.landing.iterdir():
        path.unlink()  # landing cleaned: only the raw copies are left
    assert api.run(project, full_refresh=True).summary.status == "ok"
    same_as(undisturbed, project)

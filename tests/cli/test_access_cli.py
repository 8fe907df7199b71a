"""``lakeshop access`` (token create/list/revoke, check, audit) and ``lakeshop serve`` as a
user types them: the console script serving a copy of the demo on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lakeshop.app.access.audit import read_audit
from lakeshop.app.project import Project
from tests.conftest import Prebuilt, cli, one_error_line
from tests.serve.conftest import free_port

LAKESHOP = Path(sys.executable).with_name("lakeshop")


@pytest.fixture
def demo(prebuilt: Prebuilt, tmp_path: Path) -> Path:
    return prebuilt.demo_copy(tmp_path / "demo")


def test_demo_writes_the_example_policy_and_says_how_to_serve(prebuilt: Prebuilt) -> None:
    demo = prebuilt.demo()
    assert (demo.directory / "access.yml").exists()
    assert "serve" in demo.output and "access token create" in demo.output


def test_token_create_list_revoke(demo: Path) -> None:
    code, out, err = cli("--project", demo, "access", "token", "create", "ana")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("lsk_") and len(token) > 40 and "shown once" in err
    code, out, _ = cli("--project", demo, "access", "token", "list")
    token_id = token.split("_")[1]
    assert code == 0 and token_id in out and "ana" in out and "active" in out
    assert token.split("_", 2)[2] not in out
    code, out, _ = cli("--project", demo, "access", "token", "revoke", token_id)
    assert code == 0 and f"revoked token {token_id}" in out
    code, out, _ = cli("--project", demo, "access", "token", "list")
    assert "revoked" in out
    code, _, err = cli("--project", demo, "access", "token", "create", "nobody")
    assert code == 2 and "users" in one_error_line(err) and "ana" in err


def test_check_explains_what_a_user_sees(demo: Path) -> None:
    sql = "SELECT * FROM gold.fact_sales JOIN gold.dim_customer USING (customer_sk)"
    code, out, err = cli("--project", demo, "access", "check", "sam", sql)
    assert code == 0, err
    assert "role store_manager" in out and "only where store_id = 'S001'" in out
    assert "column email: masked (email: partial)" in out
    code, out, _ = cli("--project", demo, "access", "check", "eric")
    assert code == 0 and "bronze.customers: granted by 'bronze'" in out
    assert "_system.runs: granted by '_system.runs'" in out and "_system.access" not in out
    code, _, err = cli("--project", demo, "access", "check", "ana", "SELECT * FROM silver.orders")
    assert code == 3 and "may not read silver.orders" in one_error_line(err)
    code, _, err = cli("--project", demo, "access", "check", "ana", "COPY gold.dim_date TO 'x'")
    assert code == 1 and "COPY" in one_error_line(err)


def test_a_broken_policy_is_one_line_naming_the_setting(demo: Path) -> None:
    policy = demo / "access.yml"
    policy.write_text(policy.read_text().replace("ana: {role: analyst}", "ana: {role: analyts}"))
    code, _, err = cli("--project", demo, "access", "check", "ana", "SELECT 1")
    line = one_error_line(err)
    assert code == 2 and "access.yml" in line and "users.ana.role" in line and "analyts" in line


def test_serve_command_answers_and_the_audit_command_shows_it(demo: Path) -> None:
    code, out, _ = cli("--project", demo, "access", "token", "create", "ana")
    token = out.strip()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "LAKESHOP_DEBUG"}
    server = subprocess.Popen(
        [str(LAKESHOP), "--project", str(demo), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(
                    f"{url}/api/sql",
                    json={"sql": "SELECT count(*) AS n FROM gold.dim_customer"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    detail = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"lakeshop serve did not answer: {detail}")
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["rows"][0]["n"] > 0
        assert httpx.get(f"{url}/api/tables").status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        out_text, err_text = server.communicate(timeout=60)
    assert server.returncode == 0, err_text
    assert f"http://127.0.0.1:{port}" in out_text.decode()
    assert token not in out_text.decode() + err_text.decode()
    # the rows buffered at shutdown were written
    audit = read_audit(Project.load(demo).lakehouse())
    assert {r["status"] for r in audit.to_pylist()} >= {"ok", "unauthenticated"}
    code, out, _ = cli("--project", demo, "access", "audit", "--user", "ana", "--days", "1")
    assert code == 0 and "ana" in out and "analyst" in out and "sql" in out
    code, out, _ = cli("--project", demo, "access", "audit", "--format", "json")
    assert code == 0 and '"unauthenticated"' in out and token not in out

"""Load on ``lakeshop serve``: concurrent clients on loopback against dashboard tiles and
``/api/sql`` while a ``lakeshop run`` commits, then the accounting checked unchanged.

    .venv/bin/python benchmarks/serve_load.py --project DIR [--clients 20] [--seconds 60]

The project must be built (``lakeshop demo``, or the benchmark's own project with
``benchmarks/run.py --serve``). The server is a real ``lakeshop serve`` process on a free
127.0.0.1 port; half the clients are the analyst ``ana`` (masks apply), half the admin ``ada``
of the example ``access.yml`` (written when the project has none). A few seconds in,
``lakeshop run --full-refresh`` starts and commits every table again from the same files
while the clients read. Reported: requests, errors (any non-200 answer or failure; the
target is 0), p50/p95 latency overall and per kind, the run's wall time and exit code, and
whether gold's accounting (rows and revenue of ``gold.fact_sales``, revenue of
``gold.agg_daily_sales``) is the same after the run as before. Also the server's CPU seconds
while the clients ran, per request: steadier than latency on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
#: how long the server may take to answer its first request (a loaded machine: minutes)
STARTUP_SECONDS = 300
ACCOUNTING = (
    "SELECT (SELECT count(*) FROM gold.fact_sales) AS lines, "
    "(SELECT sum(sales_total_base) FROM gold.fact_sales) AS revenue, "
    "(SELECT sum(total_revenue) FROM gold.agg_daily_sales) AS mart_revenue"
)
#: what each client asks, in turn: (kind, method, path, query string or JSON body)
REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("tile", "GET", "/api/dashboards/sales/tiles/revenue", {}),
    ("tile", "GET", "/api/dashboards/sales/tiles/revenue_by_day", {"channel": "online"}),
    ("tile", "GET", "/api/dashboards/products/tiles/best_sellers", {}),
    ("tile", "GET", "/api/dashboards/customers/tiles/lifetime_value", {}),
    ("tile", "GET", "/api/dashboards/payments/tiles/by_type", {"channel": "store"}),
    ("tile_csv", "GET", "/api/dashboards/sales/tiles/by_store.csv", {}),
    (
        "sql",
        "POST",
        "/api/sql",
        {"sql": "SELECT channel, sum(total_revenue) AS r FROM gold.agg_daily_sales GROUP BY 1"},
    ),
    (
        "sql",
        "POST",
        "/api/sql",
        {"sql": "SELECT customer_id, email FROM gold.dim_customer WHERE is_current LIMIT 100"},
    ),
]


def lakeshop(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("lakeshop")), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accounting(project: Path) -> list[Any]:
    from lakeshop.app import api
    from lakeshop.app.project import Project

    row = api.query(Project.load(project), ACCOUNTING).to_pylist()[0]
    return [str(v) for v in row.values()]


def _client(
    url: str, token: str, deadline: float, offset: int, out: list[tuple[str, float, int]]
) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        i = offset
        while time.monotonic() < deadline:
            kind, method, path, data = REQUESTS[i % len(REQUESTS)]
            i += 1
            start = time.perf_counter()
            try:
                if method == "GET":
                    status = c.get(path, params=data).status_code
                else:
                    status = c.post(path, json=data).status_code
            except httpx.HTTPError:
                status = 0
            out.append((kind, time.perf_counter() - start, status))


def _quantiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_ms": values[0] * 1000 if values else 0.0, "p95_ms": 0.0}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1)}


def load(
    project: Path, clients: int = 20, seconds: float = 60.0, run_after: float = 5.0
) -> dict[str, Any]:
    """Run the load on ``project`` (built) and return the figures."""
    from lakeshop.app.access.default import write_default_policy
    from lakeshop.app.access.tokens import TokenStore

    write_default_policy(project)
    store = TokenStore(project)
    tokens = [store.create("ana"), store.create("ada")]
    before = accounting(project)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(project / "serve-load.log", "w")  # noqa: SIM115 (open for the server's life)
    server = subprocess.Popen(
        lakeshop("--project", str(project), "serve", "--port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(url, server)
        results: list[tuple[str, float, int]] = []
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(
                target=_client, args=(url, tokens[i % 2], deadline, i, results), daemon=True
            )
            for i in range(clients)
        ]
        cpu_start = _cpu(server.pid)
        for t in threads:
            t.start()
        time.sleep(run_after)
        run_start = time.perf_counter()
        run = subprocess.run(
            lakeshop("--project", str(project), "run", "--full-refresh"),
            capture_output=True,
            text=True,
            check=False,
        )
        run_wall = time.perf_counter() - run_start
        for t in threads:
            t.join()
        server_cpu = _cpu(server.pid) - cpu_start
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    after = accounting(project)
    kinds = sorted({k for k, _, _ in results})
    return {
        "clients": clients,
        "seconds": seconds,
        "requests": len(results),
        "requests_per_s": round(len(results) / seconds, 1),
        "errors": sum(1 for _, _, s in results if s != 200),
        "statuses": sorted({s for _, _, s in results}),
        **_quantiles([d for _, d, _ in results]),
        "by_kind": {k: _quantiles([d for kk, d, _ in results if kk == k]) for k in kinds},
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(len(results), 1), 1),
        "run_exit": run.returncode,
        "run_wall_s": round(run_wall, 1),
        "run_ended_before_clients": run_wall + run_after < seconds,
        "accounting_before": before,
        "accounting_after": after,
        "accounting_unchanged": before == after,
    }


def _cpu(pid: int) -> float:
    """User and system CPU seconds of the process ``pid`` (the server) so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _wait(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"lakeshop serve exited ({server.returncode}); see serve-load.log")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"lakeshop serve did not answer within {STARTUP_SECONDS} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a built project folder")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    figures = load(args.project, args.clients, args.seconds)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    # a run exits 3 when a landing file was refused (the generated retailer's defects)
    if (
        figures["errors"]
        or figures["run_exit"] not in (0, 3)
        or not figures["accounting_unchanged"]
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()

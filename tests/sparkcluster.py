"""A real Spark standalone cluster and a Spark Connect server, on loopback, for tests and benchmarks.

Started with the launchers that ship inside the pyspark package (``bin/spark-class``,
``bin/spark-submit``): a master, workers (one core each, executors in their own JVMs) and,
optionally, a Spark Connect server whose driver runs on that cluster. Every process binds
127.0.0.1 only (``SPARK_LOCAL_IP`` and ``--host``), runs in its own process group, and is
stopped (the whole group) by :meth:`SparkCluster.stop` / :meth:`ConnectServer.stop`.

Nothing is downloaded: the jars are pyspark's own; Java is the machine's (``java`` on PATH or
``$JAVA_HOME``, the same one the local-mode tests use).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
#: how long a master, its workers or a Connect server may take to come up on a loaded machine
START_TIMEOUT_S = 180.0
#: each standalone daemon's heap (master, worker): they only schedule
DAEMON_MEMORY = "256m"


#: what a lakeshop driver on these clusters asks for (the target's ``spark.conf``): loopback,
#: small JVMs, one core per executor and at most two per application, so that two
#: applications (a run and a Connect server's driver) can share two-core workers
DRIVER_CONF: dict[str, str | int] = {
    "spark.driver.host": HOST,
    "spark.driver.bindAddress": HOST,
    "spark.driver.memory": "768m",
    "spark.executor.memory": "512m",
    "spark.executor.cores": 1,
    "spark.cores.max": 2,
}


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark package (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    """A TCP port free on loopback now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def spark_env(work: Path) -> dict[str, str]:
    """The environment of every Spark process started here: loopback, no user config, the
    test's Python on the executors, logs under ``work``."""
    conf_dir = work / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP=HOST,
        SPARK_LOCAL_HOSTNAME="localhost",
        SPARK_CONF_DIR=str(conf_dir),
        SPARK_LOG_DIR=str(work / "logs"),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    return env


@dataclass
class _Processes:
    work: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``args`` in its own process group, output to ``work/<name>.log``."""
        log = (self.work / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """SIGTERM each process group, SIGKILL what is left after 20 s (last started first)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # the group too: a JVM's children (executors) outlive a killed parent
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.work / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class SparkCluster:
    """A running standalone master and its workers."""

    url: str
    webui: str
    env: dict[str, str]
    #: each worker's work directory (an ``app-*/<executor id>/`` folder per executor it ran)
    worker_dirs: list[Path]
    _procs: _Processes

    def status(self) -> dict[str, Any]:
        """The master's own view (its JSON endpoint): workers, cores, running applications."""
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=5) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def cpu_s(self) -> float:
        """CPU seconds used so far by the master, the workers and the executors they ran
        (an executor's time reaches its worker's children times once it has exited)."""
        import psutil

        total = 0.0
        for proc in self._procs.procs:
            try:
                for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                continue
        return total

    def stop(self) -> None:
        """Stop the workers (and their executors), then the master."""
        self._procs.stop()


def start_cluster(
    work: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g"
) -> SparkCluster:
    """Start a master and ``workers`` workers on loopback; returns once every worker is
    registered with the master (or raises, with the logs' tails, after the timeout)."""
    work.mkdir(parents=True, exist_ok=True)
    env = spark_env(work)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, webui_port = free_port(), free_port()
    procs = _Processes(work)
    daemons = env | {"SPARK_DAEMON_MEMORY": DAEMON_MEMORY}
    url, webui = f"spark://{HOST}:{port}", f"http://{HOST}:{webui_port}"
    worker_dirs = [work / f"worker-{i}" for i in range(workers)]
    cluster = SparkCluster(url, webui, env, worker_dirs, procs)
    try:
        procs.spawn(
            "master",
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST, "--port",
             str(port), "--webui-port", str(webui_port)],
            daemons,
        )  # fmt: skip
        for i, worker_dir in enumerate(worker_dirs):
            worker_dir.mkdir(exist_ok=True)
            procs.spawn(
                f"worker-{i}",
                [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", HOST,
                 "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                 "--work-dir", str(worker_dir)],
                daemons,
            )  # fmt: skip
        _wait(lambda: _alive_workers(cluster) >= len(worker_dirs), procs, "the workers to register")
    except BaseException:
        procs.stop()
        raise
    return cluster


def _alive_workers(cluster: SparkCluster) -> int:
    try:
        return int(cluster.status().get("aliveworkers", 0))
    except OSError:
        return 0


@dataclass
class ConnectServer:
    """A running Spark Connect server (its driver a client of ``master``)."""

    url: str
    _procs: _Processes

    def stop(self) -> None:
        self._procs.stop()


def start_connect(
    work: Path, master: str, *, env: dict[str, str] | None = None, memory: str = "768m"
) -> ConnectServer:
    """Start ``SparkConnectServer`` (pyspark's jars) with its driver on ``master``, gRPC on
    loopback; returns once the port accepts connections."""
    work.mkdir(parents=True, exist_ok=True)
    env = env or spark_env(work)
    port = free_port()
    procs = _Processes(work)
    submit = str(spark_home() / "bin" / "spark-submit")
    try:
        procs.spawn(
            "connect",
            [submit, "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--name", "lakeshop-connect", "--master", master, "--driver-memory", memory,
             "--conf", f"spark.connect.grpc.binding.address={HOST}",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", f"spark.driver.host={HOST}", "--conf", f"spark.driver.bindAddress={HOST}",
             "--conf", "spark.executor.memory=512m", "--conf", "spark.ui.enabled=false",
             # the server's driver is a cluster client like any other: one core per executor
             "--conf", "spark.executor.cores=1"],
            env,
        )  # fmt: skip
        _wait(lambda: _accepts(port), procs, "the Spark Connect server to listen")
    except BaseException:
        procs.stop()
        raise
    return ConnectServer(f"sc://{HOST}:{port}", procs)


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((HOST, port)) == 0


def _wait(ready: Callable[[], bool], procs: _Processes, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        dead = [p for p in procs.procs if p.poll() is not None]
        if dead:
            break
        time.sleep(0.5)
    logs = "\n".join(
        f"--- {path.name}\n{procs.log_tail(path.stem)}" for path in sorted(procs.work.glob("*.log"))
    )
    raise RuntimeError(f"timed out or died waiting for {what}\n{logs}")

"""A real S3 API for the object-storage tests: moto's server mode (``moto[server]``, a dev
dependency) started as a subprocess on a free loopback port, stopped at the end.

The tests point lakeshop at it only through the environment, as a user would
(``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``). The
secret key is recognisable, so that a test can assert it never reaches an output, a table or
a file. :class:`SlowProxy` puts a delay on every request (a slow network in front of it).
"""

from __future__ import annotations

import contextlib
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: the secret key of the tests' credentials: recognisable, asserted never to leak
SECRET = "S3-s3cret-XYZZY-42-do-not-print"
ACCESS_KEY = "AKIALAKESHOPTEST"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A running moto server."""

    endpoint: str
    proc: subprocess.Popen[bytes]

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The variables that point lakeshop (and its subprocesses) at this server."""
        return {
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` in ``bucket``."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free 127.0.0.1 port, for the duration of the block. Fails (never
    skips) when moto's server mode is not installed."""
    port = free_port()
    # its request log goes to a file: a pipe nobody reads would fill and stall the server
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed after the server, below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"moto server exited ({proc.returncode}): {err[-2000:]}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError("moto server did not answer within 60 s")
            time.sleep(0.2)
        yield S3Server(endpoint, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class SlowProxy:
    """A TCP proxy on a free loopback port adding ``delay`` seconds to each request that
    goes through it (the first bytes of each read from the client): a slow network."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.delay = delay
        self.upstream = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        socks = [client, upstream]
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select(socks, [], [], 0.5)
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        return
                    if s is client:
                        self.requests += 1
                        time.sleep(self.delay)  # the request's way to the store
                        upstream.sendall(data)
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """A moto S3 server on loopback for the module, with the bucket ``lake``."""
    with s3_server() as server:
        server.create_bucket("lake")
        yield server


@pytest.fixture
def on_s3(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """:func:`s3`, its endpoint and credentials in this test's environment."""
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return s3

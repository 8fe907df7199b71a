"""A real ``lakeshop serve`` (uvicorn, in a thread, on a free loopback port) over a copy of
the demo lakehouse, with a token for each user of the demo's ``access.yml``."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow as pa
import pytest
import uvicorn

from lakeshop.app.access.audit import read_audit
from lakeshop.app.access.tokens import TokenStore
from lakeshop.app.project import Project
from lakeshop.serve.app import create_app
from lakeshop.serve.context import ServeContext

USERS = ("ana", "fiona", "sam", "eric", "ada")


@dataclass
class Running:
    """A server running in this process, and how to talk to it."""

    url: str
    project: Project
    tokens: dict[str, str]
    ctx: ServeContext
    log: list[str]

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def sql(self, user: str, sql: str, **body: Any) -> httpx.Response:
        with self.client(user) as c:
            return c.post("/api/sql", json={"sql": sql, **body})

    def audit(self) -> pa.Table:
        """The audit log, with every buffered row written."""
        self.ctx.audit.flush()
        return read_audit(self.project.lakehouse())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Capture(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: Any) -> None:
        self.lines.append(self.format(record))


@contextmanager
def running(project: Project, users: tuple[str, ...]) -> Iterator[Running]:
    """``project`` served on a free loopback port, a token for each of ``users``."""
    store = TokenStore(project.directory)
    tokens = {user: store.create(user) for user in users}
    app = create_app(project)
    port = free_port()
    lines: list[str] = []
    handler = _Capture(lines)
    root = logging.getLogger()
    root.addHandler(handler)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not uv.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the server did not start", pytrace=False)
            time.sleep(0.05)
        yield Running(f"http://127.0.0.1:{port}", project, tokens, app.state.ctx, lines)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        root.removeHandler(handler)


@pytest.fixture(scope="module")
def server(prebuilt: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The demo's lakehouse served with its own access.yml; a token for each user."""
    directory = prebuilt.demo_copy(tmp_path_factory.mktemp("serve") / "demo")
    with running(Project.load(directory), USERS) as served:
        yield served

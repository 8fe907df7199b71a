"""A real PostgreSQL server for the tests marked ``postgres``: ``initdb`` and ``pg_ctl`` in a
temporary folder, on a free loopback port, stopped at the end.

Debian's ``postgresql`` package provides the programs (``/usr/lib/postgresql/<n>/bin``;
``.ci/run`` installs it when missing). When they are missing the fixture fails, naming the
package: a PostgreSQL test never passes by being skipped. PostgreSQL refuses to run as root:
as root, the server runs as the ``postgres`` user the package creates (else ``nobody``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: the password of the tests' role: recognisable, so that a test can assert it never leaks
PASSWORD = "Pw-s3cret-XYZZY-42"
USER = "lakeshop"


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    folder: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return (
            f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"
            "?connect_timeout=10"
        )

    def create_database(self, name: str) -> str:
        """A fresh database; its connection string."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}".encode())
            conn.execute(f"CREATE DATABASE {name}".encode())
        return self.dsn(name)


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if versions:
        return versions[-1].parent
    raise RuntimeError(
        "PostgreSQL's initdb is not installed: the tests marked postgres need a real server "
        "(apt-get install -y postgresql; .ci/run installs it)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    """The prefix that runs a program as a non-root user when this process is root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", name, "--"]
        return ["su", name, "-s", "/bin/sh", "-c"]  # pragma: no cover - not on Debian
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL as")


def _owner_ids() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    return None


def start() -> PgServer:
    """initdb + pg_ctl start on a free loopback port (password authentication over TCP)."""
    bins = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="lakeshop-pg-"))
    owner = _owner_ids()
    if owner:
        os.chown(folder, *owner)
    os.chmod(folder, 0o700)
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if owner:
        os.chown(pwfile, *owner)
    data = folder / "data"
    prefix = _as_user()
    subprocess.run(
        [
            *prefix,
            str(bins / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
    )
    subprocess.run(
        [
            *prefix,
            str(bins / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PgServer("127.0.0.1", port, USER, PASSWORD, folder)


def stop(server: PgServer) -> None:
    bins = _bin_dir()
    subprocess.run(
        [
            *_as_user(),
            str(bins / "pg_ctl"),
            "-D",
            str(server.folder / "data"),
            "-m",
            "fast",
            "stop",
        ],
        check=False,
        capture_output=True,
    )
    shutil.rmtree(server.folder, ignore_errors=True)

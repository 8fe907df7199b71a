"""API tokens: given once when created, kept only as salted scrypt hashes, revocable.

A token reads ``lsk_<id>_<secret>``: the id finds its record, the secret is checked against the
record's hash (constant time). The records are ``.lakeshop/tokens.json`` in the project folder
(mode 0600): outside the lakehouse, so no query can read them (the reader's DuckDB may open
only the lakehouse's table folders). A verified token is remembered in memory (by its SHA-256)
until the file changes, so a server checks each token's scrypt hash once, not per request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakeshop.core.errors import LakeshopError

TOKENS_FILE = Path(".lakeshop") / "tokens.json"
PREFIX = "lsk_"
#: scrypt's cost: ~20 ms a check on a laptop, paid once per token and server
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class TokenInfo:
    """A token's record, without its secret."""

    id: str
    user: str
    created_at: str
    revoked_at: str | None


class TokenStore:
    """The project's token records."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / TOKENS_FILE
        self._lock = threading.Lock()
        self._verified: dict[str, str] = {}
        self._stamp: tuple[int, int] | None = None

    def create(self, user: str) -> str:
        """A new token for ``user``: returned once, only its hash is kept."""
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        records = self._read()
        records[token_id] = {
            "user": user,
            "salt": salt.hex(),
            "hash": _hash(secret, salt).hex(),
            "created_at": _now(),
            "revoked_at": None,
        }
        self._write(records)
        return f"{PREFIX}{token_id}_{secret}"

    def revoke(self, token_or_id: str) -> TokenInfo:
        """Revoke a token, given whole or by its id (as ``list`` shows it)."""
        parts = _split(token_or_id)
        token_id = parts[0] if parts is not None else token_or_id
        records = self._read()
        if token_id not in records:
            raise LakeshopError(f"no token with id '{token_id}' (see `lakeshop access token list`)")
        records[token_id]["revoked_at"] = records[token_id]["revoked_at"] or _now()
        self._write(records)
        return _info(token_id, records[token_id])

    def list(self) -> list[TokenInfo]:
        """Every token's record (no secret, no hash)."""
        return [_info(k, v) for k, v in sorted(self._read().items())]

    def verify(self, token: str) -> str | None:
        """The user of a valid, unrevoked ``token``; None otherwise."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            stamp = _stamp(self.path)
            if stamp != self._stamp:  # created, revoked: check again from the file
                self._verified.clear()
                self._stamp = stamp
            if digest in self._verified:
                return self._verified[digest]
        parts = _split(token)
        if parts is None:
            return None
        token_id, secret = parts
        record = self._read().get(token_id)
        if record is None or record["revoked_at"] is not None:
            return None
        expected = bytes.fromhex(record["hash"])
        if not hmac.compare_digest(_hash(secret, bytes.fromhex(record["salt"])), expected):
            return None
        with self._lock:
            self._verified[digest] = str(record["user"])
        return str(record["user"])

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise LakeshopError(f"{self.path}: not a token file ({exc})") from exc
        return dict(data.get("tokens", {}))

    def _write(self, records: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"tokens": records}, f, indent=1)
        os.replace(temporary, self.path)  # whole or not at all


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(PREFIX):
        return None
    token_id, _, secret = token[len(PREFIX) :].partition("_")
    return (token_id, secret) if token_id and secret else None


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _info(token_id: str, record: dict[str, Any]) -> TokenInfo:
    return TokenInfo(token_id, record["user"], record["created_at"], record["revoked_at"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size

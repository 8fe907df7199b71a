"""API tokens: shown once, kept as salted scrypt hashes in a file only its owner reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lakeshop.app.access.tokens import TokenStore
from lakeshop.core.errors import LakeshopError


def test_a_token_is_kept_only_as_a_hash(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token = store.create("ana")
    other = store.create("ana")
    assert token != other and token.startswith("lsk_")
    assert store.verify(token) == "ana" and store.verify(other) == "ana"
    text = store.path.read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text and token not in text
    records = json.loads(text)["tokens"]
    assert len({r["salt"] for r in records.values()}) == 2  # one salt per token
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "wrong",
    [
        "",
        "lsk_",
        "lsk_nope",
        "not-a-token",
        "lsk_{id}_",
        "lsk_{id}_{secret}x",
        "lsk_{id}x_{secret}",
    ],
)
def test_anything_but_the_token_is_refused(tmp_path: Path, wrong: str) -> None:
    store = TokenStore(tmp_path)
    token = store.create("ana")
    _, token_id, secret = token.split("_", 2)
    assert store.verify(wrong.format(id=token_id, secret=secret)) is None


def test_revoke_takes_effect_for_a_store_that_verified_it_before(tmp_path: Path) -> None:
    server, cli = TokenStore(tmp_path), TokenStore(tmp_path)  # two processes' views
    token = cli.create("eric")
    assert server.verify(token) == "eric"  # now remembered in memory
    info = cli.revoke(token.split("_")[1])
    assert info.revoked_at is not None and info.user == "eric"
    assert server.verify(token) is None
    assert [t.revoked_at is not None for t in cli.list()] == [True]
    with pytest.raises(LakeshopError, match="no token with id 'nope'"):
        cli.revoke("nope")

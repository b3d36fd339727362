from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.security.keys import KEY_PATTERN, KeyStore, hash_key


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "security.sqlite")
    yield store
    store.close()


def test_a_new_key_verifies_and_only_its_hash_is_stored(keys: KeyStore, tmp_path: Path) -> None:
    record, key = keys.create("oncall-bot", ["respond", "read"])
    assert record.scopes == ("read", "respond")
    assert KEY_PATTERN.fullmatch(key)
    found = keys.verify(key)
    assert found is not None and found.name == "oncall-bot"

    keys.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("security"))
    assert key.encode() not in raw
    secret = key.split("_", 2)[2]
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "security.sqlite") as db:
        (stored,) = db.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored == hash_key(key)


def test_wrong_secret_unknown_id_and_garbage_do_not_verify(keys: KeyStore) -> None:
    _, key = keys.create("a", ["read"])
    prefix, key_id, secret = key.split("_", 2)
    tampered = f"{prefix}_{key_id}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    for presented in (tampered, f"{prefix}_000000000000_{secret}", "", "rcp", "Bearer x", key[:-1]):
        assert keys.verify(presented) is None, presented


def test_revoked_keys_stop_verifying_and_free_their_name(keys: KeyStore) -> None:
    _, key = keys.create("ci", ["admin"])
    assert keys.has_keys()
    revoked = keys.revoke("ci")
    assert revoked.revoked_at is not None
    assert keys.verify(key) is None
    assert not keys.has_keys()
    assert [k.name for k in keys.list(include_revoked=True)] == ["ci"]
    assert keys.list() == []
    _, again = keys.create("ci", ["read"])
    assert keys.verify(again) is not None
    with pytest.raises(NotFound):
        keys.revoke("nobody")


def test_names_and_scopes_are_checked(keys: KeyStore) -> None:
    keys.create("alice", ["read"])
    with pytest.raises(Conflict):
        keys.create("alice", ["read"])
    with pytest.raises(InvalidInput, match="scope"):
        keys.create("bob", ["write"])
    with pytest.raises(InvalidInput, match="scope"):
        keys.create("bob", [])
    for bad in ("", " x", "a/b", "x" * 65, "-lead"):
        with pytest.raises(InvalidInput, match="key name"):
            keys.create(bad, ["read"])


def test_no_file_means_no_keys_and_reading_creates_nothing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "sub" / "security.sqlite")
    assert not store.has_keys()
    assert store.list() == []
    assert store.verify("rcp_0123456789ab_" + "x" * 40) is None
    assert not (tmp_path / "sub").exists()


def test_a_key_made_by_another_process_is_seen_at_once(tmp_path: Path) -> None:
    server = KeyStore(tmp_path / "security.sqlite")
    cli = KeyStore(tmp_path / "security.sqlite")
    assert not server.has_keys()
    _, key = cli.create("late", ["read"])
    assert server.has_keys() and server.verify(key) is not None
    cli.revoke("late")
    assert server.verify(key) is None
    server.close()
    cli.close()

"""API keys in the copilot database: each storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.security.keys import KEY_PATTERN, KeyStore, hash_key
from copilot.settings import Settings


@pytest.fixture
def keys(database_url: str) -> Iterator[KeyStore]:
    store = KeyStore(database_url)
    yield store
    store.close()


def test_a_new_key_verifies_and_only_its_hash_is_stored(
    keys: KeyStore, database_url: str, tmp_path: Path
) -> None:
    record, key = keys.create("oncall-bot", ["respond", "read"])
    assert record.scopes == ("read", "respond")
    assert KEY_PATTERN.fullmatch(key)
    found = keys.verify(key)
    assert found is not None and found.name == "oncall-bot"

    keys.close()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalar_one()
        everything = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row
        )
    engine.dispose()
    assert stored == hash_key(key)
    secret = key.split("_", 2)[2]
    assert key not in everything and secret not in everything
    if database_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in (tmp_path / "db").iterdir())
        assert key.encode() not in raw and secret.encode() not in raw


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


def test_no_file_means_no_keys_and_reading_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COPILOT_DATABASE_URL", raising=False)
    store = KeyStore(Settings(data_dir=tmp_path / "sub", _env_file=None))  # type: ignore[call-arg]
    assert not store.has_keys()
    assert store.list() == []
    assert store.verify("rcp_0123456789ab_" + "x" * 40) is None
    assert not (tmp_path / "sub").exists()


def test_a_key_made_by_another_process_is_seen_at_once(database_url: str) -> None:
    server = KeyStore(database_url)
    cli = KeyStore(database_url)
    assert not server.has_keys()
    _, key = cli.create("late", ["read"])
    assert server.has_keys() and server.verify(key) is not None
    cli.revoke("late")
    assert server.verify(key) is None
    server.close()
    cli.close()


def test_the_legacy_path_names_the_data_dirs_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`KeyStore(settings.security_path)` (as callers wrote it before the one database) uses
    the database of that data dir: the one a server over the same settings uses."""
    monkeypatch.delenv("COPILOT_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    old_style = KeyStore(settings.security_path)
    _, key = old_style.create("ci", ["read"])
    new_style = KeyStore(settings)
    assert new_style.verify(key) is not None
    assert (settings.data_dir / "incidents.sqlite").exists()
    assert not settings.security_path.exists()
    old_style.close()
    new_style.close()


def test_concurrent_creates_of_one_name_make_one_key(database_url: str) -> None:
    stores = [KeyStore(database_url) for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def create(store: KeyStore) -> None:
        barrier.wait()
        try:
            store.create("deploy-bot", ["read"])
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    assert [k.name for k in stores[0].list()] == ["deploy-bot"]
    for store in stores:
        store.close()

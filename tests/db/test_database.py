"""The one database: every table in it, migrations once under a lock, a newer schema refused,
and the rows of the files older copilots kept imported once. SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from copilot.db import Database, current_revision, head_revision
from copilot.errors import ConfigError
from copilot.incidents.db import IncidentStore
from copilot.integrations.outbox import Outbox
from copilot.integrations.webhooks import WebhookDispatcher
from copilot.security.audit import AuditLog
from copilot.security.keys import KeyStore
from copilot.settings import Settings
from tests.integrations.test_webhooks import SECRET, Receiver

# The schemas of security.sqlite and webhooks.sqlite as the copilot wrote them before 0004.
OLD_SECURITY = """
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, key_id TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL, scopes TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
CREATE UNIQUE INDEX ix_api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, incident_id TEXT, question TEXT NOT NULL, sources TEXT NOT NULL,
    request_id TEXT);
"""
OLD_OUTBOX = """
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL, target TEXT NOT NULL,
    host TEXT NOT NULL, event TEXT NOT NULL, body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', last_error TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (delivery_id, target));
"""
OLD_KEY = "rcp_0123456789ab_" + "s" * 43


def settings_for(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)  # type: ignore[call-arg]


def test_the_default_database_is_the_data_dirs_incidents_sqlite(tmp_path: Path) -> None:
    # The file kept its name when it came to hold every table: existing installs upgrade in place.
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'data' / 'incidents.sqlite'}"


def test_every_table_lives_in_the_one_database(database_url: str) -> None:
    with Database(database_url) as db:
        tables = set(inspect(db.engine).get_table_names())
    assert {
        "incidents",
        "timeline_events",
        "status_drafts",
        "api_keys",
        "audit_log",
        "webhook_outbox",
    } <= tables


def test_a_database_of_a_newer_schema_is_refused(database_url: str) -> None:
    Database(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="database schema is newer than this copilot: upgrade"):
        Database(database_url)
    with pytest.raises(ConfigError, match="9999_from_the_future"):
        IncidentStore(database_url)


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    errors: list[BaseException] = []
    migrated: list[bool] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        from copilot.db import make_engine, upgrade_to_head

        engine = make_engine(database_url)
        barrier.wait()
        try:
            migrated.append(upgrade_to_head(engine))
        except BaseException as exc:  # asserted on below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(migrated) == [False, False, False, True]  # one migrated, the others waited
    with Database(database_url, upgrade=False) as db:
        assert current_revision(db.engine) == head_revision()


def _old_files(data: Path) -> None:
    data.mkdir(parents=True)
    security = sqlite3.connect(data / "security.sqlite")
    security.execute("PRAGMA journal_mode=WAL")
    security.executescript(OLD_SECURITY)
    security.execute(
        "INSERT INTO api_keys (name, key_id, key_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
        (
            "ops-bot",
            "0123456789ab",
            hashlib.sha256(OLD_KEY.encode()).hexdigest(),
            json.dumps(["read", "respond"]),
            "2026-11-01T10:00:00+00:00",
        ),
    )
    for n in (1, 2):
        security.execute(
            "INSERT INTO audit_log (at, who, action, question, sources) VALUES (?, ?, ?, ?, ?)",
            ("2026-11-02T10:00:00+00:00", "alice", "ask", f"question {n}", "[]"),
        )
    security.commit()
    security.close()

    outbox = sqlite3.connect(data / "webhooks.sqlite")
    outbox.executescript(OLD_OUTBOX)
    outbox.execute(
        "INSERT INTO deliveries (delivery_id, target, host, event, body, attempts, "
        "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "pending-before-upgrade",
            "TARGET",
            "127.0.0.1",
            "incident.declared",
            b'{"old": 1}',
            1,
            time.time() + 60,
            time.time(),
            time.time(),
        ),
    )
    outbox.commit()
    outbox.close()


def test_old_security_and_outbox_files_are_imported_once(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    _old_files(settings.data_dir)
    with Receiver() as receiver:
        # The old row named its URL by hash: make it the receiver's.
        conn = sqlite3.connect(settings.data_dir / "webhooks.sqlite")
        conn.execute(
            "UPDATE deliveries SET target = ?",
            (hashlib.sha256(receiver.url.encode()).hexdigest(),),
        )
        conn.commit()
        conn.close()

        keys = KeyStore(settings)
        found = keys.verify(OLD_KEY)  # the key made before the upgrade still works
        assert found is not None and found.name == "ops-bot" and found.scopes == ("read", "respond")
        assert not (settings.data_dir / "security.sqlite").exists()
        assert (settings.data_dir / "security.sqlite.imported").exists()
        assert not (settings.data_dir / "webhooks.sqlite").exists()
        assert (settings.data_dir / "webhooks.sqlite.imported").exists()

        # New rows number after the imported ones (PostgreSQL's sequences were moved on).
        _, new_key = keys.create("new-bot", ["read"])
        assert [k.name for k in keys.list()] == ["ops-bot", "new-bot"]
        audit = AuditLog(settings)
        record = audit.append(who="bob", action="ask", question="after", sources=[])
        assert record.id == 3
        assert [r.question for r in audit.list()] == ["after", "question 2", "question 1"]

        # The pending delivery is sent with its delivery id and the next attempt number.
        dispatcher = WebhookDispatcher([receiver.url], SECRET, outbox=settings)
        dispatcher.start()
        receiver.wait_for(1)
        assert dispatcher.wait_idle()
        dispatcher.stop(drain_s=0)
        [request] = receiver.requests
        assert request["headers"]["x-copilot-delivery"] == "pending-before-upgrade"
        assert request["headers"]["x-copilot-attempt"] == "2"
        assert request["body"] == b'{"old": 1}'

        # Opening again imports nothing twice, even if the old file came back.
        (settings.data_dir / "security.sqlite.imported").rename(
            settings.data_dir / "security.sqlite"
        )
        again = KeyStore(settings)
        assert [k.name for k in again.list()] == ["ops-bot", "new-bot"]
        assert len(AuditLog(settings).list()) == 3
        assert again.verify(new_key) is not None
        for store in (keys, again, audit):
            store.close()


def test_an_old_file_in_a_data_dir_with_no_database_yet_is_found(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    _old_files(settings.data_dir)
    keys = KeyStore(settings)
    assert keys.has_keys()  # not "no file, no keys": the old file is imported on this read
    assert Outbox(settings).pending([]) == 0
    keys.close()


def test_many_connections_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL needs it to itself and SQLite does not always wait for that:
    # before the switch was retried, about one round in 40 had an opener fail "database is locked".
    from copilot.db.engine import make_engine

    failures: list[BaseException] = []
    for round_ in range(30):
        url = f"sqlite:///{tmp_path}/race{round_}.sqlite"
        engines = [make_engine(url) for _ in range(6)]
        barrier = threading.Barrier(len(engines))

        def open_and_write(engine: Engine, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                with engine.begin() as conn:
                    conn.execute(text("CREATE TABLE IF NOT EXISTS t (a INTEGER)"))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_and_write, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        modes = set()
        for engine in engines:
            with engine.connect() as conn:
                modes.add(conn.exec_driver_sql("PRAGMA journal_mode").scalar())
            engine.dispose()
        assert modes == {"wal"}
    assert failures == []

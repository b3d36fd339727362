"""Engines from a SQLAlchemy URL, with SQLite tuned for several writers.

SQLite (the default, a file in the data directory) runs in WAL mode, so readers never wait for a
writer. Every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock before it
reads, so two writers queue on the busy timeout instead of one failing half-way with "database is
locked" after reading a stale snapshot. Readers ask for `BEGIN DEFERRED` (see `READER`). On
PostgreSQL callers lock the rows they change (`SELECT ... FOR UPDATE`) for the same effect.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from copilot.errors import ConfigError

BUSY_TIMEOUT_S = 30
# An execution option naming how a SQLite transaction begins: IMMEDIATE (default) or DEFERRED.
SQLITE_BEGIN = "copilot_sqlite_begin"
READER: dict[str, Any] = {SQLITE_BEGIN: "DEFERRED"}


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database).expanduser()


def _ensure_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so) unless it already is.

    Switching the journal mode needs the file to itself, and SQLite does not always wait on the
    busy timeout for it: when several connections open a new file at once, the losers get
    "database is locked" at once. Reading the mode takes no lock, so only the first opener of
    a new file switches, and a loser retries until the winner has switched or the timeout ends.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_tuning(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that `_on_begin` decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _ensure_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created, and SQLite is tuned as above."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "COPILOT_DATABASE_URL is not a SQLAlchemy URL (e.g. sqlite:///path/incidents.sqlite, "
            "postgresql+psycopg://user@host/db)"
        ) from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    path = sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror}"
            ) from None
    connect_args: dict[str, Any] = (
        {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False} if is_sqlite else {}
    )
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    except ImportError as exc:
        raise ConfigError(
            f"cannot use the database {parsed.render_as_string()}: {exc}; install the "
            "database driver the URL names (for PostgreSQL: pip install 'psycopg[binary]')"
        ) from None
    except ArgumentError as exc:
        raise ConfigError(f"cannot use the database {parsed.render_as_string()}: {exc}") from None
    if is_sqlite:
        _sqlite_tuning(engine)
    return engine

"""The incident database: engine and sessions, SQLite tuning, and Alembic migrations on open.

SQLite (the default, a file in the data directory) runs in WAL mode, so readers never wait for a
writer. Every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock before it
reads, so two writers queue on the busy timeout instead of one failing half-way with "database is
locked" after reading a stale snapshot. On PostgreSQL the service locks the incident row
(`SELECT ... FOR UPDATE`) for the same effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from copilot.errors import ConfigError, CopilotError
from copilot.incidents.severity import Taxonomy, load_taxonomy
from copilot.settings import Settings

log = logging.getLogger("copilot.incidents")

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30
_BEGIN_OPTION = "copilot_sqlite_begin"

Clock = Callable[[], datetime]
# Called after a change is committed, with the incident as it now is (`schemas.Incident`) and the
# timeline events the change wrote (`schemas.Event`); outbound webhooks subscribe here.
ChangeListener = Callable[[Any, Sequence[Any]], None]


class IncidentStoreUnavailable(CopilotError):
    status_code = 503


def utcnow() -> datetime:
    return datetime.now(UTC)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured from the package path: no alembic.ini anywhere."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise ConfigError("the incident migrations are missing from the package")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`, in one transaction (one write lock on SQLite)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def _sqlite_tuning(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that `_on_begin` decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
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
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder {folder} for the incident database: {exc.strerror}"
            ) from None
    connect_args: dict[str, Any] = (
        {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False} if is_sqlite else {}
    )
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    except ImportError as exc:
        raise ConfigError(
            f"cannot use the incident database {parsed.render_as_string()}: {exc}; install the "
            "database driver the URL names (for PostgreSQL: pip install 'psycopg[binary]')"
        ) from None
    except ArgumentError as exc:
        raise ConfigError(
            f"cannot use the incident database {parsed.render_as_string()}: {exc}"
        ) from None
    if is_sqlite:
        _sqlite_tuning(engine)
    return engine


class IncidentStore:
    """An open incident database with its severity taxonomy and clock."""

    def __init__(
        self,
        url: str,
        *,
        taxonomy: Taxonomy | None = None,
        clock: Clock = utcnow,
        upgrade: bool = True,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.clock = clock
        self.listeners: list[ChangeListener] = []
        self.engine = make_engine(url)
        self._safe_url = self.engine.url.render_as_string(hide_password=True)
        self._reader = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        if upgrade:
            self.upgrade()

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utcnow) -> IncidentStore:
        """Open (creating and migrating as needed) the store the settings point at."""
        return cls(
            settings.sqlalchemy_url, taxonomy=load_taxonomy(settings.severity_file), clock=clock
        )

    def upgrade(self) -> None:
        head = head_revision()
        try:
            if current_revision(self.engine) != head:
                migrate(self.engine, head)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            log.debug("cannot open the incident database %s", self._safe_url, exc_info=exc)
            # The driver's own message ("unable to open database file", "connection refused"),
            # without the SQL and parameters SQLAlchemy appends.
            reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()
            raise IncidentStoreUnavailable(
                f"cannot open the incident database {self._safe_url}: "
                f"{reason[0] if reason else type(exc).__name__}"
            ) from exc

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def notify(self, incident: Any, events: Sequence[Any]) -> None:
        """Tell every listener about a committed change; a failing listener is only logged."""
        for listener in list(self.listeners):
            try:
                listener(incident, events)
            except Exception:
                log.exception("an incident change listener failed")

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; on SQLite it takes no write lock."""
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

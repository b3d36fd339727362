"""An open database: its engine, transactions for writers and readers, migrated on open."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from copilot.db.engine import READER, make_engine, sqlite_file
from copilot.db.schema import upgrade_to_head
from copilot.errors import CopilotError
from copilot.settings import Settings

log = logging.getLogger("copilot.db")


class DatabaseUnavailable(CopilotError):
    """The database cannot be reached or opened (the API answers 503)."""

    status_code = 503


def unavailable(exc: SQLAlchemyError, safe_url: str) -> DatabaseUnavailable:
    """The driver's own message ("unable to open database file", "connection refused"), without
    the SQL and parameters SQLAlchemy appends, nor a password."""
    log.debug("cannot open the database %s", safe_url, exc_info=exc)
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()
    return DatabaseUnavailable(
        f"cannot open the database {safe_url}: {reason[0] if reason else type(exc).__name__}"
    )


# What a request answers (503) while the database cannot be reached: the driver's reason stays
# in the log, since it may name a host or a user.
DATABASE_DOWN = "the database is unavailable (it cannot be reached); try again shortly"


def is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached right now (down, restarting, the
    connection dropped, SQLite's busy timeout), not that the request was wrong."""
    if isinstance(exc, DatabaseUnavailable | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Database:
    """One SQLAlchemy database (a SQLite file or PostgreSQL) holding every relational table.

    Opening migrates it to the code's head revision (once, under a lock: see copilot.db.schema);
    with `data_dir`, rows of the raw-sqlite3 files older copilots kept there are imported once
    (see copilot.db.legacy).
    """

    def __init__(self, url: str, *, upgrade: bool = True, data_dir: Path | None = None) -> None:
        self.engine = make_engine(url)
        self.safe_url = self.engine.url.render_as_string(hide_password=True)
        self.dialect = self.engine.dialect.name
        self._reader = self.engine.execution_options(**READER)
        if upgrade:
            self.upgrade()
        if data_dir is not None:
            from copilot.db.legacy import import_legacy_files

            try:
                import_legacy_files(self, data_dir)
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise unavailable(exc, self.safe_url) from exc

    @classmethod
    def open(cls, settings: Settings) -> Database:
        """The database the settings name, migrated, with the data dir's old files imported."""
        return cls(settings.sqlalchemy_url, data_dir=settings.data_dir)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def upgrade(self) -> None:
        try:
            upgrade_to_head(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise unavailable(exc, self.safe_url) from exc
        except BaseException:
            self.engine.dispose()
            raise

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read transaction; on SQLite it takes no write lock."""
        with self._reader.begin() as conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a write transaction, committed on success."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# What a store may be given: an open Database (shared, not closed by the store), the settings,
# a SQLAlchemy URL, or - as before the one database - a file in the data directory, whose
# folder names the data dir and whose database is the one the environment configures there.
DatabaseSource = Database | Settings | str | Path


class LazyDatabase:
    """A Database opened on first use, so a store can be built before its database is up, and a
    read of a data dir with no database yet creates nothing."""

    def __init__(self, source: DatabaseSource) -> None:
        self._db = source if isinstance(source, Database) else None
        self._owned = self._db is None
        self._lock = threading.Lock()
        self.data_dir: Path | None = None
        if isinstance(source, Settings):
            self.url, self.data_dir = source.sqlalchemy_url, source.data_dir
        elif isinstance(source, Path):
            self.data_dir = source.parent
            # Read now, not at import: COPILOT_DATABASE_URL (or .env) names the shared database.
            self.url = Settings(data_dir=self.data_dir).sqlalchemy_url
        elif isinstance(source, str):
            self.url = source
        else:
            self.url = source.engine.url.render_as_string(hide_password=False)
        self._file: Path | None = None
        if self._db is None:
            with contextlib.suppress(ArgumentError):  # get() reports a bad URL, as ConfigError
                self._file = sqlite_file(self.url)

    @property
    def label(self) -> str:
        if self._db is not None:
            return self._db.safe_url
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return "the database"

    def exists(self) -> bool:
        """Whether there may be rows to read: always, unless it is a SQLite file not made yet
        (and no old file waits to be imported into it)."""
        if self._db is not None:
            return True
        path = self._file
        if path is None or path.exists():
            return True
        from copilot.db.legacy import legacy_files

        return self.data_dir is not None and bool(legacy_files(self.data_dir))

    def get(self) -> Database:
        with self._lock:
            if self._db is None:
                self._db = Database(self.url, data_dir=self.data_dir)
            return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._owned:
                self._db.close()
                self._db = None

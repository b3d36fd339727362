"""The incident store: the copilot database (copilot.db) with the severity taxonomy, a clock and
the listeners told of committed changes.

The engine, SQLite tuning and migrations live in copilot.db; the names below are re-exported for
the code and tests that imported them from here. On PostgreSQL the service locks the incident
row (`SELECT ... FOR UPDATE`) where SQLite's `BEGIN IMMEDIATE` serialises writers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from copilot.db import (
    MIGRATIONS,
    Database,
    DatabaseUnavailable,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
)
from copilot.incidents.severity import Taxonomy, load_taxonomy
from copilot.settings import Settings

__all__ = [
    "MIGRATIONS",
    "ChangeListener",
    "Clock",
    "IncidentStore",
    "IncidentStoreUnavailable",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "migrate",
    "utcnow",
]

log = logging.getLogger("copilot.incidents")

Clock = Callable[[], datetime]
# Called after a change is committed, with the incident as it now is (`schemas.Incident`) and the
# timeline events the change wrote (`schemas.Event`); outbound webhooks subscribe here.
ChangeListener = Callable[[Any, Sequence[Any]], None]

# The incident store is unavailable exactly when its database is.
IncidentStoreUnavailable = DatabaseUnavailable


def utcnow() -> datetime:
    return datetime.now(UTC)


class IncidentStore:
    """An open incident database with its severity taxonomy and clock.

    Given a URL it opens (and closes) a Database of its own; given a Database it shares it.
    """

    def __init__(
        self,
        url: str | Database,
        *,
        taxonomy: Taxonomy | None = None,
        clock: Clock = utcnow,
        upgrade: bool = True,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.clock = clock
        self.listeners: list[ChangeListener] = []
        self._owns_db = not isinstance(url, Database)
        self.db = url if isinstance(url, Database) else Database(url, upgrade=upgrade)
        self.engine = self.db.engine

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utcnow) -> IncidentStore:
        """Open (creating, migrating and importing old files as needed) the settings' store."""
        store = cls(
            Database.open(settings), taxonomy=load_taxonomy(settings.severity_file), clock=clock
        )
        store._owns_db = True
        return store

    def upgrade(self) -> None:
        self.db.upgrade()

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
        with self.db.session() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; on SQLite it takes no write lock."""
        with self.db.read_session() as session:
            yield session

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

"""Who may write the knowledge base: one process per data directory, one ingest at a time.

Embedded (SQLite and Chroma in the data directory) the process that opens a store holds
`store.lock` for its life. Scaled out, replicas share the store and take no local lock; an
ingest holds a PostgreSQL session advisory lock, and records who holds it so a second one can
be told.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError

from copilot.db import Database
from copilot.db.database import unavailable
from copilot.errors import Conflict, StoreLocked
from copilot.filelock import FileLock
from copilot.knowledge.tables import kb_state

# pg_advisory_lock key that serialises ingests across replicas ("copilotI").
INGEST_LOCK = 0x636F70696C6F7449


class StoreLock(FileLock):
    """The lock of a knowledge base's persist directory, held for the life of its owner."""

    def acquire(self) -> None:
        if not self.try_acquire():
            raise StoreLocked(
                f"the knowledge base in {self.path.parent} is in use by process {self.holder()}; "
                "one process owns a store at a time. If that is `copilot serve`, ingest through "
                'it: POST /v1/admin/ingest {"paths": [...]} with an admin key (`copilot keys '
                "create NAME --scope admin`); otherwise stop it and try again."
            )


class IngestBusy(Conflict):
    """Another ingest holds the knowledge base (the API answers 409)."""


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@contextlib.contextmanager
def advisory_lock(database: Database, holder: str, deadline: float) -> Iterator[None]:
    """Hold the ingest advisory lock on PostgreSQL, waiting until `deadline` (monotonic), and
    record `holder` while it is held; IngestBusy names whoever holds it after that."""
    try:
        conn = database.engine.connect()
    except SQLAlchemyError as exc:
        raise unavailable(exc, database.safe_url) from exc
    try:
        while True:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": INGEST_LOCK})
            conn.commit()
            if got.scalar():
                break
            if time.monotonic() >= deadline:
                try:
                    with database.reading() as reader:
                        who = reader.execute(select(kb_state.c.ingest_holder)).scalar()
                except SQLAlchemyError as exc:
                    raise unavailable(exc, database.safe_url) from exc
                raise IngestBusy(
                    f"an ingest is already running ({who or 'another replica'}); the "
                    "knowledge base takes one at a time: try again when it is done"
                )
            time.sleep(0.5)
        try:
            try:
                with database.begin() as w:
                    w.execute(update(kb_state).values(ingest_holder=holder[:500]))
            except SQLAlchemyError as exc:
                raise unavailable(exc, database.safe_url) from exc
            yield
        finally:
            with contextlib.suppress(SQLAlchemyError), database.begin() as w:
                w.execute(update(kb_state).values(ingest_holder=None))
            with contextlib.suppress(SQLAlchemyError):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INGEST_LOCK})
                conn.commit()
    finally:
        conn.close()

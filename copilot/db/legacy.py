"""Rows of the raw-sqlite3 files older copilots kept beside the incident database, imported once.

`security.sqlite` (API keys, the audit log) and `webhooks.sqlite` (the webhook outbox) became
tables of the one database (migration 0004). When a database is opened for a data directory that
still holds one of them, its rows are copied in, in one transaction under the migration lock
(whichever process gets there first imports; the others then find the file gone or its rows
present), and the file is renamed `*.imported`, kept for the operator to delete. Existing keys
keep working, pending webhook deliveries keep their delivery id and attempt count.

A row is skipped when the database already has it (the same key id, delivery id and URL, or audit
record); its id is kept when free, else the database numbers it. A row the database refuses (an
active key of the same name with another key id) is logged and skipped.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, select, text
from sqlalchemy.exc import IntegrityError

from copilot.db.engine import sqlite_file
from copilot.db.schema import lock_for_migration

log = logging.getLogger("copilot.db")

IMPORTED_SUFFIX = ".imported"


@dataclass(frozen=True)
class LegacyTable:
    source: str
    target: str
    key: str  # the primary key column
    natural: tuple[str, ...]  # what makes two rows the same row


@dataclass(frozen=True)
class LegacyFile:
    name: str
    tables: tuple[LegacyTable, ...]


LEGACY_FILES = (
    LegacyFile(
        "security.sqlite",
        (
            LegacyTable("api_keys", "api_keys", "id", ("key_id",)),
            LegacyTable(
                "audit_log", "audit_log", "id", ("at", "who", "action", "question", "request_id")
            ),
        ),
    ),
    LegacyFile(
        "webhooks.sqlite",
        (LegacyTable("deliveries", "webhook_outbox", "seq", ("delivery_id", "target")),),
    ),
)


def legacy_files(data_dir: Path) -> list[Path]:
    return [data_dir / f.name for f in LEGACY_FILES if (data_dir / f.name).is_file()]


def import_legacy_files(db: Any, data_dir: Path) -> dict[str, int]:
    """Import every old file found in `data_dir` into `db` (a copilot.db.Database); returns
    the rows imported per table."""
    counts: dict[str, int] = {}
    for legacy in LEGACY_FILES:
        path = data_dir / legacy.name
        if not path.is_file():
            continue
        own = sqlite_file(db.safe_url)
        if own is not None and own.resolve() == path.resolve():
            continue  # COPILOT_DATABASE_URL points at the old file itself: nothing to import
        with db.begin() as conn:
            lock_for_migration(conn)
            if not path.is_file():  # another process imported it while this one waited
                continue
            source = sqlite3.connect(path, timeout=30)
            try:
                for table in legacy.tables:
                    counts[table.target] = _copy(source, conn, table)
            finally:
                source.close()
        _retire(path)
        log.warning(
            "imported %s into the database (%s); the old file is now %s%s",
            path,
            ", ".join(f"{n} {t}" for t, n in counts.items()) or "no rows",
            path.name,
            IMPORTED_SUFFIX,
        )
    return counts


def _copy(source: sqlite3.Connection, conn: Connection, table: LegacyTable) -> int:
    found = source.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table.source,)
    ).fetchone()
    if found is None:
        return 0
    target = Table(table.target, MetaData(), autoload_with=conn)
    source_columns = [r[1] for r in source.execute(f'PRAGMA table_info("{table.source}")')]
    columns = [c for c in source_columns if c in target.c]
    rows = source.execute(
        f"SELECT {', '.join(columns)} FROM {table.source} ORDER BY {table.key}"
    ).fetchall()
    natural = [target.c[c] for c in table.natural]
    present = {tuple(r) for r in conn.execute(select(*natural))}
    taken = set(conn.execute(select(target.c[table.key])).scalars())
    imported = 0
    for values in rows:
        row: dict[str, Any] = dict(zip(columns, values, strict=True))
        for name, value in row.items():
            if isinstance(value, memoryview):
                row[name] = bytes(value)
        if tuple(row.get(c) for c in table.natural) in present:
            continue
        if row.get(table.key) in taken:
            del row[table.key]
        try:
            with conn.begin_nested():
                conn.execute(target.insert().values(**row))
        except IntegrityError as exc:
            log.error(
                "not imported into %s: a row the database refuses (%s)",
                table.target,
                str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__,
            )
            continue
        imported += 1
    if conn.dialect.name == "postgresql" and imported:
        # Explicit ids do not move a serial's sequence: move it past them.
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.target}', '{table.key}'), "
                f"(SELECT COALESCE(MAX({table.key}), 1) FROM {table.target}))"
            )
        )
    return imported


def _retire(path: Path) -> None:
    """Fold the old file's WAL into it and rename it `*.imported`."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    try:
        path.replace(path.with_name(path.name + IMPORTED_SUFFIX))
    except FileNotFoundError:
        return  # another process retired it
    except OSError as exc:
        log.error("imported %s but could not rename it: %s", path, exc.strerror)
        return
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            path.with_name(path.name + suffix).unlink()

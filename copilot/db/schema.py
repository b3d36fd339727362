"""The one Alembic migration tree (copilot/db/migrations) and running it once, under a lock.

Whichever process (replica, CLI) opens a database first and finds it behind migrates it; the
others wait on the lock and then find it current. On PostgreSQL the lock is a transaction-level
advisory lock (`pg_advisory_xact_lock(MIGRATION_LOCK)`); on SQLite it is the write lock that
`BEGIN IMMEDIATE` takes on the file. The migration runs inside that same transaction (both
engines have transactional DDL), so a crash mid-way leaves the old schema, not half of the new.

A database at a revision this code does not know was migrated by a newer copilot: it is refused
with a ConfigError rather than used with a schema the code does not understand.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from copilot.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key for migrations: any constant the copilot alone uses ("copilotM").
MIGRATION_LOCK = 0x636F70696C6F744D


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured from the package path: no alembic.ini anywhere."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise ConfigError("the database migrations are missing from the package")
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine | Connection) -> str | None:
    if isinstance(engine, Connection):
        return MigrationContext.configure(engine).get_current_revision()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_known(revision: str | None) -> None:
    """ConfigError when `revision` comes from a newer copilot than this one."""
    if revision is not None and revision not in known_revisions():
        raise ConfigError(
            f"database schema is newer than this copilot: upgrade (the database is at revision "
            f"{revision!r}; this copilot knows up to {head_revision()!r})"
        )


def lock_for_migration(conn: Connection) -> None:
    """Hold the migration lock until `conn`'s transaction ends (SQLite: it already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` in one transaction, under the migration lock."""
    with engine.begin() as conn:
        lock_for_migration(conn)
        check_known(current_revision(conn))
        command.upgrade(alembic_config(conn), revision)


def upgrade_to_head(engine: Engine) -> bool:
    """Bring the schema to head unless it is there; True when this call migrated it."""
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return False
    check_known(current)
    with engine.begin() as conn:
        lock_for_migration(conn)
        # Another process may have migrated while this one waited for the lock.
        current = current_revision(conn)
        if current == head:
            return False
        check_known(current)
        command.upgrade(alembic_config(conn), head)
    return True


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        lock_for_migration(conn)
        command.downgrade(alembic_config(conn), revision)

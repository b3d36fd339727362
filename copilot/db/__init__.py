"""The one relational database: engine, sessions, SQLite tuning, the Alembic migration tree.

A SQLite file in the data directory by default (`sqlite:///DATA_DIR/incidents.sqlite`: the file
keeps the name it had when it held incidents only, so existing installs upgrade in place), or
PostgreSQL when `COPILOT_DATABASE_URL=postgresql+psycopg://...`. Every table lives here:
incidents, timeline and status drafts (copilot.incidents, copilot.status), API keys and the audit
log (copilot.security), the webhook outbox (copilot.integrations.outbox).
"""

from copilot.db.database import (
    DATABASE_DOWN,
    Database,
    DatabaseSource,
    DatabaseUnavailable,
    LazyDatabase,
    is_connection_error,
)
from copilot.db.engine import BUSY_TIMEOUT_S, READER, make_engine, sqlite_file
from copilot.db.schema import (
    MIGRATION_LOCK,
    MIGRATIONS,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    migrate,
    upgrade_to_head,
)

__all__ = [
    "BUSY_TIMEOUT_S",
    "DATABASE_DOWN",
    "MIGRATIONS",
    "MIGRATION_LOCK",
    "READER",
    "Database",
    "DatabaseSource",
    "DatabaseUnavailable",
    "LazyDatabase",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_connection_error",
    "make_engine",
    "migrate",
    "sqlite_file",
    "upgrade_to_head",
]

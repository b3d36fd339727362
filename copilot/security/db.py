"""The security database: one SQLite file in the data dir holding API keys and the audit log.

Several processes use it at once (the server, `copilot keys ...`), so each connection runs in WAL
mode with a busy timeout, and nothing is cached that another process could change.
"""

from __future__ import annotations

from pathlib import Path

from copilot.sqlitefile import SQLiteFile

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_api_keys_active_name
    ON api_keys (name) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    incident_id TEXT,
    question TEXT NOT NULL,
    sources TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS ix_audit_log_incident ON audit_log (incident_id, id);
"""


class SecurityDB(SQLiteFile):
    """A lazily opened connection to `security.sqlite`, shared by the threads of one process."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, schema=_SCHEMA, version=SCHEMA_VERSION, timeout_s=10)

"""The security tables of the copilot database: API keys and the audit log.

They were a file of their own (`security.sqlite`) before the one database; migration 0004
creates them and copilot.db.legacy imports an old file's rows once. Several processes use them at
once (the server's replicas, `copilot keys ...`), so nothing is cached that another could change.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, text

from copilot.db import DatabaseSource, LazyDatabase

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("key_id", String(12), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("scopes", Text, nullable=False),  # a JSON list
    Column("created_at", String(40), nullable=False),  # ISO 8601, UTC, to the second
    Column("revoked_at", String(40), nullable=True),
    Index(
        "ix_api_keys_active_name",
        "name",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("who", String(200), nullable=False),
    Column("action", String(30), nullable=False),
    Column("incident_id", String(40), nullable=True),
    Column("question", Text, nullable=False),
    Column("sources", Text, nullable=False),  # a JSON list
    Column("request_id", String(100), nullable=True),
    Index("ix_audit_log_incident", "incident_id", "id"),
    sqlite_autoincrement=True,
)


class SecurityDB(LazyDatabase):
    """The database holding the security tables, opened on first use.

    Give it the Database, the settings, a URL, or (as before) `settings.security_path`.
    """

    def __init__(self, source: DatabaseSource) -> None:
        super().__init__(source)

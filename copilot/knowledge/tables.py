"""Tables of the knowledge catalog in the one database; migration 0009 owns them.

`kb_documents` (one row per indexed file) and `kb_chunks` (its live sections) are the source of
truth for what search may return; Chroma holds their vectors under the same chunk ids.
`kb_state` is one row: the identity the index was built with (embedding model, dimension,
distance, schema), the knowledge-base version every write bumps (replicas poll it to drop their
caches) and who holds the ingest lock. On SQLite, migration 0009 also creates the FTS5 table
`kb_chunks_fts`, written in the same transactions as `kb_chunks` (SQLAlchemy does not model
virtual tables, so it is not declared here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
)
from sqlalchemy.engine import Connection

from copilot.knowledge import keyword
from copilot.knowledge.models import Chunk

metadata = MetaData()

FTS_TABLE = "kb_chunks_fts"

kb_documents = Table(
    "kb_documents",
    metadata,
    Column("source", Text, primary_key=True),
    Column("root", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("title", Text, nullable=False),
    Column("chunk_ids", JSON, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

kb_chunks = Table(
    "kb_chunks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_kb_chunks_source", "source", "ordinal"),
)

kb_state = Table(
    "kb_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("identity", JSON, nullable=True),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("changed_at", DateTime(timezone=True), nullable=True),
    Column("ingest_holder", String(500), nullable=True),
    CheckConstraint("id = 1", name="ck_kb_state_one_row"),
)


def insert_chunks(conn: Connection, chunks: Sequence[Chunk]) -> None:
    """Write `chunks` to `kb_chunks` and, on SQLite, to the FTS5 table, in `conn`'s transaction
    (ingest and the import of an old catalog file both write them this way)."""
    if not chunks:
        return
    conn.execute(
        insert(kb_chunks),
        [
            {
                "id": c.id,
                "source": c.source,
                "ordinal": c.ordinal,
                "kind": c.kind,
                "body": json.dumps(asdict(c)),
            }
            for c in chunks
        ],
    )
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(keyword.insert_sql(FTS_TABLE), [keyword.fts_row(c) for c in chunks])

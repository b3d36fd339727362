"""The knowledge catalog (issue 17): documents, chunks and the knowledge-base state.

`kb_documents`: one row per indexed file (its source path relative to the ingested root, that
root, the content hash that decides "unchanged", kind, title, its chunk ids). `kb_chunks`: the
live sections, each a JSON body, the truth that search results come from (Chroma holds their
vectors). `kb_state`: one row holding the index identity (embedding model, dimension, distance),
the knowledge-base version every write bumps, and who holds the ingest lock.

On SQLite, `kb_chunks_fts` is an FTS5 table (porter stemming) over each chunk's title, heading,
keywords and text, written in the same transactions as `kb_chunks`: keyword search ranks with
FTS5's bm25 as before. On PostgreSQL each replica builds the same FTS5 index in memory from
`kb_chunks` (see copilot/knowledge/keyword.py), so the ranking is the same on both.

Data directories whose catalog still lives in `catalog.sqlite` are imported on open (see
copilot/knowledge/legacy.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FTS = (
    "CREATE VIRTUAL TABLE kb_chunks_fts USING fts5("
    "id UNINDEXED, kind UNINDEXED, title, section, keywords, text, "
    "tokenize = 'porter unicode61')"
)


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("chunk_ids", sa.JSON(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_kb_chunks_source", "kb_chunks", ["source", "ordinal"])
    state = op.create_table(
        "kb_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("identity", sa.JSON(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingest_holder", sa.String(500), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_kb_state_one_row"),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS kb_chunks_fts")
    op.drop_table("kb_state")
    op.drop_index("ix_kb_chunks_source", table_name="kb_chunks")
    op.drop_table("kb_chunks")
    op.drop_table("kb_documents")

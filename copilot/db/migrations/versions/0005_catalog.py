"""Service catalog (issue 13): Backstage entities, relations, aliases.

Tables: catalog_files (imported files and their hashes), catalog_entities (one row per entity ref),
catalog_relations (dependsOn, providesApi, ownedBy, ... between refs), catalog_aliases (the names
an entity is found by). See copilot/catalog/models.py.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_files",
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "catalog_entities",
        sa.Column("ref", sa.String(400), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("file", sa.String(1024), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_catalog_entities_file", "catalog_entities", ["file"])
    op.create_index("ix_catalog_entities_name", "catalog_entities", ["name"])
    op.create_table(
        "catalog_relations",
        sa.Column("source", sa.String(400), primary_key=True),
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column("target", sa.String(400), primary_key=True),
        sa.Column("line", sa.Integer(), nullable=False),
    )
    op.create_index("ix_catalog_relations_target", "catalog_relations", ["target"])
    op.create_table(
        "catalog_aliases",
        sa.Column("alias", sa.String(400), primary_key=True),
        sa.Column("ref", sa.String(400), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
    )
    op.create_index("ix_catalog_aliases_ref", "catalog_aliases", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_catalog_aliases_ref", table_name="catalog_aliases")
    op.drop_table("catalog_aliases")
    op.drop_index("ix_catalog_relations_target", table_name="catalog_relations")
    op.drop_table("catalog_relations")
    op.drop_index("ix_catalog_entities_name", table_name="catalog_entities")
    op.drop_index("ix_catalog_entities_file", table_name="catalog_entities")
    op.drop_table("catalog_entities")
    op.drop_table("catalog_files")

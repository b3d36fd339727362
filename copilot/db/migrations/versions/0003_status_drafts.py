"""Status-update drafts: per audience, with their checks, and the timeline event once published.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("incident_status", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("guardrails", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("next_update_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(200), nullable=True),
        sa.Column("published_title", sa.String(300), nullable=True),
        sa.Column("published_body", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("timeline_events.id"), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_status_drafts_incident_number", "status_drafts", ["incident_number"])


def downgrade() -> None:
    op.drop_index("ix_status_drafts_incident_number", table_name="status_drafts")
    op.drop_table("status_drafts")

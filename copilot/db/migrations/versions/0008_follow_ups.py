"""Follow-ups (tracked postmortem action items) and imported history (issue 16).

`follow_ups`: an action item with an owner, a due date, a priority and a status (open,
in_progress, done, wont_do), the incident it came from (kept when the incident is gone: the
link is set to NULL) and an optional link to an issue tracker.
`imported_postmortems`: one row per postmortem document turned into an incident by
`copilot import postmortems`, keyed by its source name and its content hash, so a re-import adds
nothing; `problems` lists what could not be read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("team", sa.String(100), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("priority", sa.String(10), nullable=False, server_default="medium"),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column("external_url", sa.String(2000), nullable=True),
        sa.Column("origin", sa.String(12), nullable=False, server_default="manual"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'wont_do')", name="ck_follow_ups_status"
        ),
        sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name="ck_follow_ups_priority"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_follow_ups_status_due", "follow_ups", ["status", "due_on"])
    op.create_index("ix_follow_ups_incident", "follow_ups", ["incident_number"])

    op.create_table(
        "imported_postmortems",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(500), nullable=False, unique=True),
        sa.Column("content_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_imported_postmortems_incident", "imported_postmortems", ["incident_number"])


def downgrade() -> None:
    op.drop_index("ix_imported_postmortems_incident", table_name="imported_postmortems")
    op.drop_table("imported_postmortems")
    op.drop_index("ix_follow_ups_incident", table_name="follow_ups")
    op.drop_index("ix_follow_ups_status_due", table_name="follow_ups")
    op.drop_table("follow_ups")

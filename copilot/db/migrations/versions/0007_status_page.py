"""Public status page: maintenance windows and their updates (issue 15).

Component statuses from incidents are read from the published public status updates
(`status_drafts`), so this revision adds only what the page owns itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_page_maintenances",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_status_page_maintenances_status", "status_page_maintenances", ["status"])
    op.create_table(
        "status_page_maintenance_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "maintenance_id",
            sa.Integer(),
            sa.ForeignKey("status_page_maintenances.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_status_page_maintenance_updates_maintenance_id",
        "status_page_maintenance_updates",
        ["maintenance_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_status_page_maintenance_updates_maintenance_id",
        table_name="status_page_maintenance_updates",
    )
    op.drop_table("status_page_maintenance_updates")
    op.drop_index("ix_status_page_maintenances_status", table_name="status_page_maintenances")
    op.drop_table("status_page_maintenances")

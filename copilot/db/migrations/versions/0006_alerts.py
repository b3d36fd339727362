"""Alerts, alert groups and incident candidates (issue 14).

Tables: alert_groups (correlated alerts: a candidate once past its rule's threshold, then declared,
attached or dismissed), alerts (one row per fingerprint: state, labels, annotations, flaps, its
group and the reason it joined it), alert_notifications (a digest of every notification applied,
so a retried one changes nothing). Label and annotation sizes are bounded by the intake schemas
(copilot/alerts/schemas.py: 64 labels of 128/1024 characters, 32 annotations of 8192); the
columns below bound the names the database indexes. See copilot/alerts/models.py.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("dismissed_reason", sa.Text(), nullable=True),
        sa.Column("dismissed_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'candidate', 'declared', 'attached', 'dismissed')",
            name="ck_alert_groups_status",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_groups_key_status", "alert_groups", ["key", "status"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("alertname", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generator_url", sa.String(2000), nullable=True),
        sa.Column("flaps", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("notifications", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("heartbeat", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("alert_groups.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("group_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name="ck_alerts_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alerts_group_id", "alerts", ["group_id"])
    op.create_index("ix_alerts_last_seen", "alerts", ["last_seen"])

    op.create_table(
        "alert_notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("group_key", sa.String(1000), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("alert_notifications")
    op.drop_index("ix_alerts_last_seen", table_name="alerts")
    op.drop_index("ix_alerts_group_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_groups_key_status", table_name="alert_groups")
    op.drop_table("alert_groups")

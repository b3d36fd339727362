"""API keys, the audit log and the webhook outbox, until now in files of their own.

`security.sqlite` and `webhooks.sqlite` had these tables (the outbox's was `deliveries`); their
rows are imported on first open by copilot.db.legacy. The outbox gains a lease (`leased_until`):
a dispatcher claims a row for the length of one attempt, so several replicas share one outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(12), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_api_keys_active_name",
        "api_keys",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("incident_id", sa.String(40), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_incident", "audit_log", ["incident_id", "id"])

    op.create_table(
        "webhook_outbox",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("leased_until", sa.Float(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name="ck_webhook_outbox_state"
        ),
        sa.UniqueConstraint("delivery_id", "target", name="uq_webhook_outbox_delivery_target"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_outbox_queue", "webhook_outbox", ["target", "state", "seq"])
    op.create_index("ix_webhook_outbox_done", "webhook_outbox", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_outbox_done", table_name="webhook_outbox")
    op.drop_index("ix_webhook_outbox_queue", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_index("ix_audit_log_incident", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_keys_active_name", table_name="api_keys")
    op.drop_table("api_keys")

"""Roles with hand-over history, tags beside services, and an append-only timeline.

Services move from `incident_services` into `incident_labels` (kind "service"), where tags
(kind "tag") join them, so that aggregates can group by either.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_REFUSE = "timeline events are append-only; record a correction event instead"


def upgrade() -> None:
    op.create_table(
        "incident_labels",
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
    )
    op.create_index("ix_incident_labels_kind_name", "incident_labels", ["kind", "name"])
    op.execute(
        "INSERT INTO incident_labels (incident_number, kind, name) "
        "SELECT incident_number, 'service', name FROM incident_services"
    )
    op.drop_table("incident_services")

    op.create_table(
        "incident_roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("relieved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_incident_roles_incident_number", "incident_roles", ["incident_number"])
    op.create_index(
        "uq_incident_roles_single_holder",
        "incident_roles",
        ["incident_number", "role"],
        unique=True,
        sqlite_where=sa.text("relieved_at IS NULL AND role != 'responder'"),
        postgresql_where=sa.text("relieved_at IS NULL AND role != 'responder'"),
    )
    op.create_index(
        "uq_incident_roles_open_person",
        "incident_roles",
        ["incident_number", "role", "person"],
        unique=True,
        sqlite_where=sa.text("relieved_at IS NULL"),
        postgresql_where=sa.text("relieved_at IS NULL"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER timeline_events_no_{action.lower()} BEFORE {action} "
                f"ON timeline_events BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION timeline_events_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER timeline_events_append_only BEFORE UPDATE OR DELETE "
            "ON timeline_events FOR EACH ROW EXECUTE FUNCTION timeline_events_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS timeline_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS timeline_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS timeline_events_append_only ON timeline_events")
        op.execute("DROP FUNCTION IF EXISTS timeline_events_append_only()")

    op.drop_index("uq_incident_roles_open_person", table_name="incident_roles")
    op.drop_index("uq_incident_roles_single_holder", table_name="incident_roles")
    op.drop_index("ix_incident_roles_incident_number", table_name="incident_roles")
    op.drop_table("incident_roles")

    op.create_table(
        "incident_services",
        sa.Column(
            "incident_number",
            sa.Integer(),
            sa.ForeignKey("incidents.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(100), primary_key=True),
    )
    # Tags had no home before this revision: they are dropped.
    op.execute(
        "INSERT INTO incident_services (incident_number, name) "
        "SELECT incident_number, name FROM incident_labels WHERE kind = 'service'"
    )
    op.drop_index("ix_incident_labels_kind_name", table_name="incident_labels")
    op.drop_table("incident_labels")

"""Alert groups remember the incident they propose to reopen and the policy that declared them.

`alert_groups.reopen_number`: an alert that fires again within the rules' reopen window after
its incident resolved (or closed) does not join that incident; it starts a group that proposes
reopening it (issue 14). `alert_groups.policy`: the auto-declare policy that declared the
group's incident, if one did.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert_groups", sa.Column("reopen_number", sa.Integer(), nullable=True))
    op.add_column("alert_groups", sa.Column("policy", sa.String(100), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild would lose the table's
    # AUTOINCREMENT and its CHECK constraint.
    op.execute("ALTER TABLE alert_groups DROP COLUMN policy")
    op.execute("ALTER TABLE alert_groups DROP COLUMN reopen_number")

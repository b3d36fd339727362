"""Maintenance windows start and end by themselves unless told not to (issue 15).

`scheduled_auto_in_progress`: the window moves to in_progress when its scheduled start passes;
`scheduled_auto_completed`: it moves to completed when its scheduled end passes (Statuspage's
names). Both default to true, for the windows already scheduled too.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "status_page_maintenances"


def upgrade() -> None:
    for name in ("scheduled_auto_in_progress", "scheduled_auto_completed"):
        op.add_column(
            TABLE, sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild would lose AUTOINCREMENT.
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN scheduled_auto_completed")
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN scheduled_auto_in_progress")

"""Maintenance windows of the status page, on the incident database's Base (migrations 0007, 0011).

Component statuses from incidents are not stored here: they are read from the published public
status updates themselves (copilot.status's `status_drafts`), so nothing but published text can
move the page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from copilot.incidents.models import Base


class Maintenance(Base):
    __tablename__ = "status_page_maintenances"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheduled_for: Mapped[datetime]
    scheduled_until: Mapped[datetime]
    # When it went in_progress and when it was completed: the component history reads these.
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # Move to in_progress when scheduled_for passes, to completed when scheduled_until does,
    # unless someone moved it on first (copilot.statuspage.maintenance.due_moves).
    scheduled_auto_in_progress: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    scheduled_auto_completed: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MaintenanceUpdate(Base):
    """One published message of a window (its status when written, and the text)."""

    __tablename__ = "status_page_maintenance_updates"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    maintenance_id: Mapped[int] = mapped_column(
        ForeignKey("status_page_maintenances.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

"""SQLAlchemy model of a follow-up; migration 0008 owns the table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from copilot.incidents.models import Base

FOLLOW_UP_STATUSES = ("open", "in_progress", "done", "wont_do")
OPEN_FOLLOW_UP_STATUSES = ("open", "in_progress")
PRIORITIES = ("high", "medium", "low")
ID_PREFIX = "FU-"


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_status_due", "status", "due_on"),
        Index("ix_follow_ups_incident", "incident_number"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_number: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.number", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    status: Mapped[str] = mapped_column(String(12), default="open")
    external_url: Mapped[str | None] = mapped_column(String(2000))
    origin: Mapped[str] = mapped_column(String(12), default="manual")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    @property
    def public_id(self) -> str:
        return f"{ID_PREFIX}{self.id}"

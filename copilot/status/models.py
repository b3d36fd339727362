"""The status-update draft table, on the incident database's Base (migration 0003 owns it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from copilot.incidents.models import Base


class StatusDraft(Base):
    """A drafted update. Published once: the publish columns are set, and never cleared after."""

    __tablename__ = "status_drafts"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_number: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), index=True
    )
    audience: Mapped[str] = mapped_column(String(20))
    # The status-page phase (investigating, identified, monitoring, resolved) and the incident
    # status it was drafted from: publishing is refused once the incident has moved on.
    phase: Mapped[str] = mapped_column(String(20))
    incident_status: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(200))
    guardrails: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the draft was checked against beyond the record: the derived figures (times,
    # durations) it may state, and the public components it names.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_update_by: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_title: Mapped[str | None] = mapped_column(String(300))
    published_body: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id"))

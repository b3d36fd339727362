"""SQLAlchemy model of an imported postmortem; migration 0008 owns the table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from copilot.incidents.models import Base


class ImportedPostmortem(Base):
    """A postmortem document turned into an incident, so that a re-import adds nothing."""

    __tablename__ = "imported_postmortems"
    __table_args__ = (
        Index("ix_imported_postmortems_incident", "incident_number"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500), unique=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    imported_at: Mapped[datetime]
    problems: Mapped[list[Any]] = mapped_column(JSON)

"""SQLAlchemy models of alerts and alert groups; migrations 0006 and 0010 own the schema.

They share the incident models' declarative base, so a group's foreign key to its incident
resolves in one metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from copilot.incidents.models import Base

GROUP_STATUSES = ("open", "candidate", "declared", "attached", "dismissed")
# Groups that still take new alerts of their key.
LIVE_GROUP_STATUSES = ("open", "candidate", "declared", "attached")


class AlertGroup(Base):
    __tablename__ = "alert_groups"
    __table_args__ = (
        Index("ix_alert_groups_key_status", "key", "status"),
        CheckConstraint(
            "status IN ('open', 'candidate', 'declared', 'attached', 'dismissed')",
            name="ck_alert_groups_status",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    incident_number: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.number", ondelete="SET NULL")
    )
    # An incident this group proposes to reopen (it resolved or closed within the rules'
    # reopen window of the group's first alert); migration 0010. An incident number, not a
    # foreign key: SQLite cannot add one to an existing table without rebuilding it.
    reopen_number: Mapped[int | None] = mapped_column(Integer)
    # The auto-declare policy that declared this group's incident, if one did (migration 0010).
    policy: Mapped[str | None] = mapped_column(String(100))
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    dismissed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_group_id", "group_id"),
        Index("ix_alerts_last_seen", "last_seen"),
        CheckConstraint("status IN ('firing', 'resolved')", name="ck_alerts_status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    alertname: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    generator_url: Mapped[str | None] = mapped_column(String(2000))
    flaps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notifications: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    heartbeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    group_id: Mapped[int | None] = mapped_column(ForeignKey("alert_groups.id", ondelete="SET NULL"))
    group_reason: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """A notification already applied, by the digest of its body's meaning."""

    __tablename__ = "alert_notifications"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    group_key: Mapped[str] = mapped_column(String(1000))
    alerts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]

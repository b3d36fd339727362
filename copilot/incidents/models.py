"""SQLAlchemy models of the incident record; the Alembic migrations own the schema itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID_PREFIX = "INC-"

STATUSES = ("triage", "mobilized", "mitigating", "monitoring", "resolved", "closed")
OPEN_STATUSES = ("triage", "mobilized", "mitigating", "monitoring")

ROLES = ("incident_commander", "escalation_lead", "scribe", "customer_liaison", "responder")
SINGLE_ROLES = ROLES[:-1]

LABEL_KINDS = ("service", "tag")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend; SQLite stores it naive (and sortable)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the incident store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Incident(Base):
    __tablename__ = "incidents"
    # AUTOINCREMENT: a number is never handed out twice, even after the newest row is gone.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    customer_impact: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None]
    detected_at: Mapped[datetime | None]
    declared_at: Mapped[datetime] = mapped_column(index=True)
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    labels: Mapped[list[Label]] = relationship(
        back_populates="incident", lazy="selectin", cascade="all, delete-orphan"
    )
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="incident",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="RoleAssignment.id",
    )

    @property
    def public_id(self) -> str:
        return f"{ID_PREFIX}{self.number}"

    def label_names(self, kind: str) -> list[str]:
        return sorted(label.name for label in self.labels if label.kind == kind)


class Label(Base):
    """A service the incident touches, or a tag (a failure mode, a cause) to group metrics by."""

    __tablename__ = "incident_labels"
    __table_args__ = (Index("ix_incident_labels_kind_name", "kind", "name"),)

    incident_number: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)

    incident: Mapped[Incident] = relationship(back_populates="labels")


class RoleAssignment(Base):
    """Who held a role, from when until when; the open rows are the current roles."""

    __tablename__ = "incident_roles"
    __table_args__ = (
        # One holder of each single role at a time (one Incident Commander, ...), enforced by the
        # database as well as by the service.
        Index(
            "uq_incident_roles_single_holder",
            "incident_number",
            "role",
            unique=True,
            sqlite_where=text("relieved_at IS NULL AND role != 'responder'"),
            postgresql_where=text("relieved_at IS NULL AND role != 'responder'"),
        ),
        Index(
            "uq_incident_roles_open_person",
            "incident_number",
            "role",
            "person",
            unique=True,
            sqlite_where=text("relieved_at IS NULL"),
            postgresql_where=text("relieved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_number: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(30))
    person: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime]
    relieved_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship(back_populates="roles")


class Event(Base):
    """One line of the scribe's log. Never updated or deleted: a correction is a new event."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        Index("ix_timeline_events_incident_at", "incident_number", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

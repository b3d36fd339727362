"""Writing an incident's rows: the checks every timestamp passes (not in the future, not before
the start, in order) and the timeline events a change writes, collected per session so that the
store's listeners (webhooks) hear of them once the change is committed. Shared by the operations
(`service.py`) and role changes (`roles.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copilot.errors import InvalidInput, NotFound
from copilot.incidents import models as m
from copilot.incidents import schemas as s
from copilot.incidents import views
from copilot.incidents.db import IncidentStore

# How far in the future a timestamp may be before it is refused (clocks disagree a little).
CLOCK_SKEW = timedelta(minutes=5)
# How long before the incident started an event may be (the deploy that caused it, say).
EVENT_LEAD = timedelta(days=1)
# Timestamps that must not run backwards: (earlier, later).
ORDER = (
    ("started_at", "detected_at"),
    ("detected_at", "declared_at"),
    ("started_at", "declared_at"),
    ("started_at", "mitigated_at"),
    ("detected_at", "mitigated_at"),
    ("mitigated_at", "resolved_at"),
    ("detected_at", "resolved_at"),
    ("resolved_at", "closed_at"),
)
WRITTEN = "copilot_events_written"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def not_future(store: IncidentStore, field: str, value: datetime | None) -> None:
    if value is not None and value > store.now() + CLOCK_SKEW:
        raise InvalidInput(f"{field}: {value.isoformat()} is in the future")


def check_order(values: dict[str, datetime | None], *, given: Iterable[str]) -> None:
    given = set(given)
    for early, late in ORDER:
        a, b = values.get(early), values.get(late)
        if a is None or b is None or b >= a:
            continue
        blamed = early if early in given and late not in given else late
        raise InvalidInput(
            f"{blamed}: {late} ({b.isoformat()}) must not be before {early} ({a.isoformat()})"
        )


def timestamps(incident: m.Incident) -> dict[str, datetime | None]:
    return {
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "declared_at": incident.declared_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
    }


def start_reference(incident: m.Incident) -> datetime:
    return incident.started_at or incident.detected_at or incident.declared_at


def check_event_time(store: IncidentStore, incident: m.Incident, at: datetime) -> None:
    not_future(store, "at", at)
    start = start_reference(incident)
    if at < start - EVENT_LEAD:
        raise InvalidInput(
            f"at: {at.isoformat()} is more than a day before {incident.public_id} started "
            f"({start.isoformat()})"
        )


def check_change_time(session: Session, incident: m.Incident, at: datetime, kind: str) -> None:
    """A change of status or severity happens after the declaration and the last such change."""
    if at < incident.declared_at:
        raise InvalidInput(
            f"at: {at.isoformat()} is before {incident.public_id} was declared "
            f"({incident.declared_at.isoformat()})"
        )
    for field in ("started_at", "detected_at"):
        value: datetime | None = getattr(incident, field)
        if value is not None and at < value:
            raise InvalidInput(f"at: {at.isoformat()} is before {field} ({value.isoformat()})")
    last = session.scalar(
        select(m.Event.at)
        .where(m.Event.incident_number == incident.number, m.Event.kind == kind)
        .order_by(m.Event.at.desc())
        .limit(1)
    )
    if last is not None and at < last:
        what = kind.replace("_", " ")
        raise InvalidInput(
            f"at: {at.isoformat()} is before the last {what} ({last.isoformat()}); "
            "changes are recorded in the order they happened"
        )


def load(session: Session, number: int, *, lock: bool = False) -> m.Incident:
    query = select(m.Incident).where(m.Incident.number == number)
    if lock:
        # PostgreSQL: serialize writers on this incident. SQLite already holds the write lock.
        query = query.with_for_update()
    incident = session.scalars(query).one_or_none()
    if incident is None:
        raise NotFound(f"no incident {m.ID_PREFIX}{number}", public="incident not found")
    return incident


def event(
    session: Session,
    incident: m.Incident,
    *,
    kind: str,
    text: str,
    at: datetime,
    author: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
    corrects: int | None = None,
) -> m.Event:
    event = m.Event(
        incident_number=incident.number,
        kind=kind,
        text=text,
        author=author,
        at=at,
        recorded_at=now,
        corrects_id=corrects,
        data=data or {},
    )
    session.add(event)
    session.info.setdefault(WRITTEN, []).append(event)
    return event


def committed(store: IncidentStore, view: s.Incident, written: Sequence[s.Event]) -> s.Incident:
    """Tell the store's listeners (webhooks) about a committed change; return the view."""
    if written:
        store.notify(view, written)
    return view


def written(session: Session) -> list[s.Event]:
    """The timeline events this session wrote, as views (call after the last flush)."""
    return [views.event_view(e) for e in session.info.pop(WRITTEN, [])]


def with_reason(text: str, reason: str | None) -> str:
    reason = (reason or "").strip()
    return f"{text}: {reason}" if reason else text

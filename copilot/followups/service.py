"""Follow-ups: create, read, list (overdue first-class) and change them; tell listeners after a
committed create or change (outgoing webhooks subscribe, see copilot.integrations.webhooks)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from copilot.errors import InvalidInput, NotFound
from copilot.followups import schemas as s
from copilot.followups.models import ID_PREFIX, OPEN_FOLLOW_UP_STATUSES, FollowUp
from copilot.guardrails.screened import screened
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.incidents.models import Incident

log = logging.getLogger("copilot.followups")

MAX_LIST = 1000
# Called after a commit with the event name (follow_up.created, follow_up.changed), the
# follow-up as it now is, and the fields changed ({field: [old, new]}; empty on create).
FollowUpListener = Callable[[str, s.FollowUp, dict[str, Any]], None]


def parse_id(follow_up_id: str) -> int:
    raw = follow_up_id.strip()
    digits = raw[len(ID_PREFIX) :] if raw.upper().startswith(ID_PREFIX) else raw
    if not digits.isdigit() or len(digits) > 12:
        raise NotFound(
            f"no follow-up {raw[:40]!r}: ids look like {ID_PREFIX}12",
            public=f"follow-up not found: ids look like {ID_PREFIX}12",
        )
    return int(digits)


def view(row: FollowUp, *, today: date) -> s.FollowUp:
    return s.FollowUp(
        id=row.public_id,
        title=screened(row.title),
        incident_id=f"INC-{row.incident_number}" if row.incident_number is not None else None,
        owner=screened(row.owner) if row.owner else None,
        team=row.team,
        due_on=row.due_on,
        priority=row.priority,
        status=row.status,
        external_url=row.external_url,
        origin=row.origin,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        overdue=is_overdue(row.status, row.due_on, today),
    )


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    return status in OPEN_FOLLOW_UP_STATUSES and due_on is not None and due_on < today


def _notify(
    listeners: Sequence[FollowUpListener], name: str, item: s.FollowUp, changes: dict[str, Any]
) -> None:
    for listener in list(listeners):
        try:
            listener(name, item, changes)
        except Exception:
            log.exception("a follow-up listener failed")


def _incident_number(session: Session, incident_id: str | None) -> int | None:
    if incident_id is None:
        return None
    number = incidents.parse_id(incident_id)
    if session.get(Incident, number) is None:
        raise NotFound(
            f"no incident {incidents.canonical_id(incident_id)}", public="incident not found"
        )
    return number


def add(
    session: Session,
    *,
    request: s.FollowUpCreate,
    now: datetime,
    origin: str = "manual",
) -> FollowUp:
    """Add a follow-up inside the caller's transaction (the importer uses this)."""
    row = FollowUp(
        incident_number=_incident_number(session, request.incident_id),
        title=request.title,
        owner=request.owner,
        team=request.team,
        due_on=request.due_on,
        priority=request.priority,
        status=request.status,
        external_url=str(request.external_url) if request.external_url else None,
        origin=origin,
        created_at=now,
        updated_at=now,
        closed_at=now if request.status in ("done", "wont_do") else None,
    )
    session.add(row)
    session.flush()
    return row


def create(
    *,
    store: IncidentStore,
    request: s.FollowUpCreate,
    listeners: Sequence[FollowUpListener] = (),
) -> s.FollowUp:
    now = store.now()
    with store.write() as session:
        item = view(add(session, request=request, now=now), today=now.date())
    _notify(listeners, "follow_up.created", item, {})
    return item


def get(*, store: IncidentStore, follow_up_id: str) -> s.FollowUp:
    number = parse_id(follow_up_id)
    with store.read() as session:
        row = session.get(FollowUp, number)
        if row is None:
            raise NotFound(f"no follow-up {ID_PREFIX}{number}", public="follow-up not found")
        return view(row, today=store.now().date())


def update(
    *,
    store: IncidentStore,
    follow_up_id: str,
    patch: s.FollowUpPatch,
    listeners: Sequence[FollowUpListener] = (),
) -> s.FollowUp:
    number = parse_id(follow_up_id)
    now = store.now()
    changes: dict[str, Any] = {}
    with store.write() as session:
        query = select(FollowUp).where(FollowUp.id == number)
        if store.db.is_postgresql:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(f"no follow-up {ID_PREFIX}{number}", public="follow-up not found")
        for field in patch.model_fields_set:
            value = getattr(patch, field)
            if field == "incident_id":
                before = row.incident_number
                row.incident_number = _incident_number(session, value)
                if row.incident_number != before:
                    changes[field] = [
                        None if before is None else f"INC-{before}",
                        None if row.incident_number is None else f"INC-{row.incident_number}",
                    ]
                continue
            if field == "external_url" and value is not None:
                value = str(value)
            old = getattr(row, field)
            if old != value:
                changes[field] = [_json(old), _json(value)]
                setattr(row, field, value)
        if "status" in changes:
            row.closed_at = now if row.status in ("done", "wont_do") else None
        if changes:
            row.updated_at = now
        item = view(row, today=now.date())
    if changes:
        _notify(listeners, "follow_up.changed", item, changes)
    return item


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def list_follow_ups(
    *,
    store: IncidentStore,
    status: str | None = None,
    overdue: bool = False,
    incident_id: str | None = None,
    owner: str | None = None,
    team: str | None = None,
    limit: int = 100,
) -> s.FollowUpList:
    """Follow-ups, overdue first, then by due date (none last), then newest."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}")
    today = store.now().date()
    is_late = (FollowUp.status.in_(OPEN_FOLLOW_UP_STATUSES)) & (FollowUp.due_on < today)
    query = select(FollowUp)
    if status is not None:
        query = query.where(FollowUp.status == status)
    if overdue:
        query = query.where(is_late)
    if incident_id is not None:
        query = query.where(FollowUp.incident_number == incidents.parse_id(incident_id))
    if owner is not None:
        query = query.where(FollowUp.owner == owner)
    if team is not None:
        query = query.where(FollowUp.team == team.lower())
    order = (
        case((is_late, 0), else_=1),
        case((FollowUp.due_on.is_(None), 1), else_=0),
        FollowUp.due_on,
        FollowUp.id.desc(),
    )
    with store.read() as session:
        rows = list(session.scalars(query.order_by(*order).limit(limit)))
        late = session.scalar(select(func.count()).select_from(FollowUp).where(is_late)) or 0
        items = [view(r, today=today) for r in rows]
    return s.FollowUpList(follow_ups=items, count=len(items), overdue=late)

"""Alerts after their incident ends: they never join a resolved or closed incident.

An alert firing again within the rules' `reopen_window` of its incident's end starts a group
that proposes reopening that incident (a candidate at once, and a note on the incident's
timeline); after the window it is correlated like any new alert.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copilot.alerts import models as am
from copilot.alerts.rules import RuleSet
from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.guardrails.screened import screened
from copilot.incidents import models as im
from copilot.incidents import schemas as inc_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore

log = logging.getLogger("copilot.alerts")

# Groups whose alerts follow an incident onto its timeline.
FOLLOWED = ("declared", "attached")


def ended_incident(session: Session, group_id: int) -> im.Incident | None:
    """The resolved or closed incident the group was declared as or attached to, if any."""
    group = session.get(am.AlertGroup, group_id)
    if group is None or group.incident_number is None or group.status not in FOLLOWED:
        return None
    incident = session.get(im.Incident, group.incident_number)
    if incident is None or incident.status in im.OPEN_STATUSES:
        return None
    return incident


def ended_at(incident: im.Incident) -> datetime:
    return incident.resolved_at or incident.closed_at or incident.updated_at


def ago(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def reopen_target(
    session: Session, rules: RuleSet, key: str, previous: int | None, at: datetime
) -> tuple[im.Incident, str] | None:
    """The newest resolved or closed incident of this key's groups (or the alert's previous
    group) that ended no longer than the reopen window before `at`, and how long before."""
    query = (
        select(am.AlertGroup.id)
        .where(
            am.AlertGroup.key == key,
            am.AlertGroup.status.in_(FOLLOWED),
            am.AlertGroup.incident_number.is_not(None),
        )
        .order_by(am.AlertGroup.id.desc())
        .limit(5)
    )
    ids = list(session.scalars(query))
    if previous is not None and previous not in ids:
        ids.insert(0, previous)
    found: list[im.Incident] = []
    for group_id in ids:
        incident = ended_incident(session, group_id)
        if incident is not None:
            found.append(incident)
    for incident in sorted(found, key=ended_at, reverse=True):
        ended = ended_at(incident)
        if at - ended <= rules.reopen_window:
            return incident, ago(at - ended)
    return None


Proposal = tuple[int, inc_schemas.EventCreate, dict[str, Any]]


def proposal(session: Session, group: am.AlertGroup, number: int, *, now: datetime) -> Proposal:
    """The note a group proposing to reopen an incident leaves on that incident's timeline."""
    first = session.scalars(
        select(am.Alert).where(am.Alert.group_id == group.id).order_by(am.Alert.id).limit(1)
    ).one()
    service = str(first.labels.get("service") or first.labels.get("namespace") or "")
    text = f"Alert {first.alertname} fired again"
    if service:
        text += f" on {service}"
    text += (
        f" after this incident ended; alert group {group.id} proposes reopening it "
        "(alerts do not join a resolved or closed incident)"
    )
    event = inc_schemas.EventCreate(
        kind="alert",
        text=str(screened(text))[: inc_schemas.MAX_TEXT],
        at=min(first.starts_at, now),
    )
    return number, event, {"proposal": "reopen", "group_id": group.id}


def note(store: IncidentStore, proposed: Proposal) -> None:
    number, event, data = proposed
    try:
        incidents.add_event(
            store=store, incident_id=f"{im.ID_PREFIX}{number}", event=event, data=data
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        log.warning("reopen proposal not added to %s's timeline: %s", number, exc)

"""What an incident and its timeline look like to a reader: the API view built from the rows.

A view carries the roles held now and their history, the severity's name and update cadence,
whether an update is overdue and which transitions are allowed; a snapshot (for metrics and
the cadence) reads the declared severity, its changes, status updates and reopenings from the
timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from copilot.incidents import lifecycle
from copilot.incidents import metrics as metrics_mod
from copilot.incidents import models as m
from copilot.incidents import schemas as s
from copilot.incidents.db import IncidentStore

SNAPSHOT_KINDS = ("declared", "severity_change", "status_change", "status_update")


def snapshots(session: Session, incidents: Sequence[m.Incident]) -> dict[int, metrics_mod.Snapshot]:
    by_number: dict[int, list[m.Event]] = defaultdict(list)
    numbers = [i.number for i in incidents]
    if numbers:
        rows = session.scalars(
            select(m.Event)
            .where(m.Event.incident_number.in_(numbers), m.Event.kind.in_(SNAPSHOT_KINDS))
            .order_by(m.Event.at, m.Event.id)
        )
        for event in rows:
            by_number[event.incident_number].append(event)
    return {i.number: snapshot(i, by_number[i.number]) for i in incidents}


def snapshot(incident: m.Incident, events: Sequence[m.Event]) -> metrics_mod.Snapshot:
    initial = ""
    changes: list[tuple[datetime, str]] = []
    updates: list[datetime] = []
    reopened = 0
    for e in events:
        if e.kind == "declared":
            initial = str(e.data.get("severity") or "")
        elif e.kind == "severity_change":
            initial = initial or str(e.data.get("from") or "")
            changes.append((e.at, str(e.data.get("to"))))
        elif e.kind == "status_update":
            updates.append(e.at)
        elif e.kind == "status_change" and e.data.get("reopen"):
            reopened += 1
    return metrics_mod.Snapshot(
        id=incident.public_id,
        severity=incident.severity,
        status=incident.status,
        declared_at=incident.declared_at,
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        services=tuple(incident.label_names("service")),
        tags=tuple(incident.label_names("tag")),
        initial_severity=initial or incident.severity,
        severity_changes=tuple(changes),
        status_updates=tuple(updates),
        reopened=reopened,
    )


def view(store: IncidentStore, incident: m.Incident, snap: metrics_mod.Snapshot) -> s.Incident:
    roles = s.Roles()
    history: list[s.RoleTenure] = []
    for r in incident.roles:
        history.append(
            s.RoleTenure(
                role=r.role, person=r.person, assigned_at=r.assigned_at, relieved_at=r.relieved_at
            )
        )
        if r.relieved_at is None:
            if r.role == "responder":
                roles.responders.append(r.person)
            else:
                setattr(roles, r.role, r.person)
    level = store.taxonomy.get(incident.severity)
    c = metrics_mod.cadence(snap, store.taxonomy, store.now())
    return s.Incident(
        id=incident.public_id,
        title=incident.title,
        summary=incident.summary,
        severity=incident.severity,
        # A level a replaced taxonomy no longer has keeps its id as its name (and the lowest
        # level's cadence) rather than borrowing another level's name.
        severity_name=level.name if level.id == incident.severity else incident.severity,
        status=cast(s.Status, incident.status),
        services=incident.label_names("service"),
        tags=incident.label_names("tag"),
        customer_impact=incident.customer_impact,
        roles=roles,
        role_history=history,
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        declared_at=incident.declared_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        updated_at=incident.updated_at,
        update_cadence_minutes=level.update_cadence_minutes,
        last_status_update_at=c.last_update_at,
        next_update_due=c.next_update_due,
        update_overdue=c.overdue,
        allowed_transitions=list(lifecycle.allowed(incident.status)),
    )


def view_one(store: IncidentStore, session: Session, incident: m.Incident) -> s.Incident:
    session.flush()
    return view(store, incident, snapshots(session, [incident])[incident.number])


def event_view(event: m.Event, corrected_by: Sequence[int] = ()) -> s.Event:
    return s.Event(
        id=event.id,
        incident_id=f"{m.ID_PREFIX}{event.incident_number}",
        kind=event.kind,
        text=event.text,
        author=event.author,
        at=event.at,
        recorded_at=event.recorded_at,
        corrects=event.corrects_id,
        corrected_by=list(corrected_by),
        data=dict(event.data),
    )

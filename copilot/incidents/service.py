"""Incident operations: declare, change, log, list and measure. Keyword-only, HTTP-agnostic.

Every change to status, severity or roles is written to the timeline in the same transaction as
the change, with its `at` (default now; explicit to back-fill from a chat log).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from copilot.errors import InvalidInput, NotFound
from copilot.guardrails.screened import screened
from copilot.incidents import lifecycle, roles, views
from copilot.incidents import metrics as metrics_mod
from copilot.incidents import models as m
from copilot.incidents import schemas as s
from copilot.incidents import writes as w
from copilot.incidents.db import IncidentStore

MAX_LIST = 500
_ID = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.IGNORECASE)


# -- ids --------------------------------------------------------------------------------------


def parse_id(incident_id: str) -> int:
    """The number in `INC-42` (also `inc-42` or `42`); NotFound for anything else."""
    match = _ID.match(incident_id)
    if not match:
        raise NotFound(
            f"no incident {incident_id[:40]!r}; incident ids look like INC-42",
            public="incident not found; incident ids look like INC-42",
        )
    return int(match.group(1))


def canonical_id(incident_id: str) -> str:
    return f"{m.ID_PREFIX}{parse_id(incident_id)}"


def _set_labels(incident: m.Incident, kind: str, names: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(names))
    incident.labels[:] = [lbl for lbl in incident.labels if lbl.kind != kind or lbl.name in wanted]
    have = {lbl.name for lbl in incident.labels if lbl.kind == kind}
    for name in wanted:
        if name not in have:
            incident.labels.append(m.Label(kind=kind, name=name))


# -- operations -------------------------------------------------------------------------------


def declare(*, store: IncidentStore, request: s.IncidentCreate) -> s.Incident:
    """Open a new incident in `triage`; its id is allocated by the database."""
    taxonomy = store.taxonomy
    level = taxonomy.resolve(request.severity)
    now = store.now()
    declared_at = request.declared_at or now
    for field in ("started_at", "detected_at", "declared_at"):
        w.not_future(store, field, getattr(request, field))
    given = {f for f in ("started_at", "detected_at", "declared_at") if getattr(request, f)}
    w.check_order(
        {
            "started_at": request.started_at,
            "detected_at": request.detected_at,
            "declared_at": declared_at,
        },
        given=given,
    )
    with store.write() as session:
        incident = m.Incident(
            title=request.title,
            summary=request.summary.strip(),
            severity=level.id,
            status="triage",
            customer_impact=request.customer_impact.strip(),
            started_at=request.started_at,
            detected_at=request.detected_at,
            declared_at=declared_at,
            created_at=now,
            updated_at=now,
        )
        _set_labels(incident, "service", request.services)
        _set_labels(incident, "tag", request.tags)
        session.add(incident)
        session.flush()  # allocates the number
        w.event(
            session,
            incident,
            kind="declared",
            text=f"Declared {level.id} ({level.name}): {incident.title}",
            at=declared_at,
            author=request.author,
            now=now,
            data={"severity": level.id, "status": "triage"},
        )
        if request.roles is not None:
            roles.apply_roles(
                store,
                session,
                incident,
                request.roles,
                at=declared_at,
                author=request.author,
                reason=None,
            )
        view = views.view_one(store, session, incident)
        new_events = w.written(session)
    return w.committed(store, view, new_events)


def get_incident(*, store: IncidentStore, incident_id: str) -> s.Incident:
    number = parse_id(incident_id)
    with store.read() as session:
        return views.view_one(store, session, w.load(session, number))


def list_incidents(
    *,
    store: IncidentStore,
    status: str | None = None,
    severity: str | None = None,
    service: str | None = None,
    limit: int = 100,
) -> list[s.Incident]:
    """Newest first, optionally filtered."""
    query = select(m.Incident).order_by(m.Incident.number.desc()).limit(min(limit, MAX_LIST))
    if status is not None:
        if status not in m.STATUSES:
            raise InvalidInput(
                f"status: unknown status {status[:40]!r}; expected one of {', '.join(m.STATUSES)}"
            )
        query = query.where(m.Incident.status == status)
    if severity is not None:
        query = query.where(m.Incident.severity == store.taxonomy.resolve(severity).id)
    if service is not None:
        query = query.where(
            exists().where(
                m.Label.incident_number == m.Incident.number,
                m.Label.kind == "service",
                m.Label.name == service.strip().lower(),
            )
        )
    with store.read() as session:
        incidents = list(session.scalars(query))
        snaps = views.snapshots(session, incidents)
        return [views.view(store, i, snaps[i.number]) for i in incidents]


def update_incident(
    *, store: IncidentStore, incident_id: str, patch: s.IncidentPatch
) -> s.Incident:
    """Apply edits, then severity, then roles, then status, each written to the timeline."""
    number = parse_id(incident_id)
    now = store.now()
    at = patch.at or now
    w.not_future(store, "at", at)
    for field in ("started_at", "detected_at"):
        w.not_future(store, field, getattr(patch, field))
    level = store.taxonomy.resolve(patch.severity) if patch.severity else None
    with store.write() as session:
        incident = w.load(session, number, lock=True)
        changed = False

        # Plain edits.
        edits: dict[str, dict[str, Any]] = {}
        for field in ("title", "summary", "customer_impact", "started_at", "detected_at"):
            value = getattr(patch, field)
            if value is None:
                continue
            if isinstance(value, str):
                value = value.strip()
            old = getattr(incident, field)
            if value != old:
                edits[field] = {
                    "from": w.iso(old) if isinstance(old, datetime) else old,
                    "to": w.iso(value) if isinstance(value, datetime) else value,
                }
                setattr(incident, field, value)
        for kind, names in (("service", patch.services), ("tag", patch.tags)):
            if names is None:
                continue
            old_names = incident.label_names(kind)
            _set_labels(incident, kind, names)
            if incident.label_names(kind) != old_names:
                edits[f"{kind}s"] = {"from": old_names, "to": incident.label_names(kind)}
        if edits:
            w.check_order(w.timestamps(incident), given=edits)
            w.check_event_time(store, incident, at)
            w.event(
                session,
                incident,
                kind="edit",
                text=w.with_reason(f"Edited {', '.join(edits)}", patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data=edits,
            )
            changed = True

        if level is not None and level.id != incident.severity:
            w.check_change_time(session, incident, at, "severity_change")
            old_level = incident.severity
            word = (
                "raised"
                if store.taxonomy.rank(level.id) < store.taxonomy.rank(old_level)
                else "lowered"
            )
            incident.severity = level.id
            w.event(
                session,
                incident,
                kind="severity_change",
                text=w.with_reason(f"Severity {word} from {old_level} to {level.id}", patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data={"from": old_level, "to": level.id},
            )
            changed = True

        if patch.roles is not None:
            w.check_event_time(store, incident, at)
            written = roles.apply_roles(
                store,
                session,
                incident,
                patch.roles,
                at=at,
                author=patch.author,
                reason=patch.reason,
            )
            changed = changed or written > 0

        if patch.status is not None and patch.status != incident.status:
            current = incident.status
            lifecycle.check(incident.public_id, current, patch.status)
            w.check_change_time(session, incident, at, "status_change")
            reopen = lifecycle.is_reopen(current, patch.status)
            cleared = lifecycle.apply(incident, patch.status, at)
            text = f"{'Reopened' if reopen else 'Status'}: {current} -> {patch.status}"
            w.event(
                session,
                incident,
                kind="status_change",
                text=w.with_reason(text, patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data={"from": current, "to": patch.status, "reopen": reopen, "previous": cleared},
            )
            changed = True

        if changed:
            incident.updated_at = now
        view = views.view_one(store, session, incident)
        new_events = w.written(session)
    return w.committed(store, view, new_events)


def add_event(
    *,
    store: IncidentStore,
    incident_id: str,
    event: s.EventCreate,
    data: dict[str, Any] | None = None,
) -> s.Event:
    """Append one event to the timeline; a correction names the event it corrects.

    `data` is kept with the event (the API never sets it; the copilot's audit records do).
    """
    number = parse_id(incident_id)
    now = store.now()
    at = event.at or now
    with store.write() as session:
        incident = w.load(session, number, lock=True)
        w.check_event_time(store, incident, at)
        if event.corrects is not None:
            target = session.get(m.Event, event.corrects)
            if target is None or target.incident_number != number:
                raise InvalidInput(
                    f"corrects: event {event.corrects} is not on {incident.public_id}'s timeline"
                )
        data = dict(data or {})
        if event.audience is not None:
            data["audience"] = event.audience
        row = w.event(
            session,
            incident,
            kind=event.kind,
            text=event.text.strip(),
            at=at,
            author=event.author,
            now=now,
            data=data,
            corrects=event.corrects,
        )
        incident.updated_at = now
        session.flush()
        added = views.event_view(row)
        view = views.view_one(store, session, incident) if store.listeners else None
        session.info.pop(w.WRITTEN, None)
    if view is not None:
        w.committed(store, view, [added])
    return added


def list_events(
    *, store: IncidentStore, incident_id: str, kind: str | None = None
) -> list[s.Event]:
    """The timeline in the order things happened (ties in the order they were recorded)."""
    number = parse_id(incident_id)
    kinds = (*s.USER_EVENT_KINDS, *s.SYSTEM_EVENT_KINDS)
    if kind is not None and kind not in kinds:
        raise InvalidInput(
            f"kind: unknown event kind {kind[:30]!r}; expected one of {', '.join(kinds)}"
        )
    with store.read() as session:
        w.load(session, number)
        rows = list(
            session.scalars(
                select(m.Event)
                .where(m.Event.incident_number == number)
                .order_by(m.Event.at, m.Event.id)
            )
        )
    corrected_by: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        if row.corrects_id is not None:
            corrected_by[row.corrects_id].append(row.id)
    return [views.event_view(r, corrected_by[r.id]) for r in rows if kind is None or r.kind == kind]


def incident_metrics(*, store: IncidentStore, incident_id: str) -> s.IncidentMetrics:
    number = parse_id(incident_id)
    with store.read() as session:
        incident = w.load(session, number)
        snap = views.snapshots(session, [incident])[number]
    return metrics_mod.incident_metrics(snap, store.taxonomy, store.now())


def aggregate_metrics(
    *,
    store: IncidentStore,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> s.AggregateMetrics:
    """Metrics of the incidents declared in [since, until), by severity and by service."""
    now = store.now()
    start = metrics_mod.parse_since(since, now=now) if isinstance(since, str) else since
    end = (
        metrics_mod.parse_since(until, now=now, field_name="until")
        if isinstance(until, str)
        else until
    )
    end = end or now
    if start is not None and start >= end:
        raise InvalidInput(f"since: {start.isoformat()} is not before until ({end.isoformat()})")
    query = select(m.Incident).where(m.Incident.declared_at < end).order_by(m.Incident.number)
    if start is not None:
        query = query.where(m.Incident.declared_at >= start)
    with store.read() as session:
        incidents = list(session.scalars(query))
        snaps = views.snapshots(session, incidents)
    return metrics_mod.aggregate(
        [snaps[i.number] for i in incidents], store.taxonomy, now=now, since=start, until=end
    )


ServiceCheck = Callable[[Sequence[str]], list[s.ServiceWarning]]


def service_warnings(unknown: Sequence[tuple[str, Sequence[str]]]) -> list[s.ServiceWarning]:
    """A warning for each service the service catalog does not know, with its close matches."""
    out = []
    for name, close in unknown:
        hint = f"; did you mean {' or '.join(close)}?" if close else "; no close match in it."
        out.append(
            s.ServiceWarning(
                service=name,
                suggestions=list(close),
                message=screened(
                    f"{name[:100]} is not in the service catalog: kept as written, but owners, "
                    f"blast radius and public names cannot be found for it{hint}"
                ),
            )
        )
    return out

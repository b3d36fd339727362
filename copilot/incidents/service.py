"""Incident operations: declare, change, log, list and measure. Keyword-only, HTTP-agnostic.

Every change to status, severity or roles is written to the timeline in the same transaction as
the change, with its `at` (default now; explicit to back-fill from a chat log).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.guardrails.screened import screened
from copilot.incidents import lifecycle, views
from copilot.incidents import metrics as metrics_mod
from copilot.incidents import models as m
from copilot.incidents import schemas as s
from copilot.incidents.db import IncidentStore

# How far in the future a timestamp may be before it is refused (clocks disagree a little).
CLOCK_SKEW = timedelta(minutes=5)
# How long before the incident started an event may be (the deploy that caused it, say).
EVENT_LEAD = timedelta(days=1)
MAX_LIST = 500
_ID = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.IGNORECASE)
_ROLE_LABEL = {
    "incident_commander": "incident commander",
    "escalation_lead": "escalation lead",
    "scribe": "scribe",
    "customer_liaison": "customer liaison",
    "responder": "responder",
}
# Timestamps that must not run backwards: (earlier, later).
_ORDER = (
    ("started_at", "detected_at"),
    ("detected_at", "declared_at"),
    ("started_at", "declared_at"),
    ("started_at", "mitigated_at"),
    ("detected_at", "mitigated_at"),
    ("mitigated_at", "resolved_at"),
    ("detected_at", "resolved_at"),
    ("resolved_at", "closed_at"),
)
_WRITTEN = "copilot_events_written"


# -- ids and checks ---------------------------------------------------------------------------


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _not_future(store: IncidentStore, field: str, value: datetime | None) -> None:
    if value is not None and value > store.now() + CLOCK_SKEW:
        raise InvalidInput(f"{field}: {value.isoformat()} is in the future")


def _check_order(values: dict[str, datetime | None], *, given: Iterable[str]) -> None:
    given = set(given)
    for early, late in _ORDER:
        a, b = values.get(early), values.get(late)
        if a is None or b is None or b >= a:
            continue
        blamed = early if early in given and late not in given else late
        raise InvalidInput(
            f"{blamed}: {late} ({b.isoformat()}) must not be before {early} ({a.isoformat()})"
        )


def _timestamps(incident: m.Incident) -> dict[str, datetime | None]:
    return {
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "declared_at": incident.declared_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
    }


def _start_reference(incident: m.Incident) -> datetime:
    return incident.started_at or incident.detected_at or incident.declared_at


def _check_event_time(store: IncidentStore, incident: m.Incident, at: datetime) -> None:
    _not_future(store, "at", at)
    start = _start_reference(incident)
    if at < start - EVENT_LEAD:
        raise InvalidInput(
            f"at: {at.isoformat()} is more than a day before {incident.public_id} started "
            f"({start.isoformat()})"
        )


def _check_change_time(session: Session, incident: m.Incident, at: datetime, kind: str) -> None:
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


def _load(session: Session, number: int, *, lock: bool = False) -> m.Incident:
    query = select(m.Incident).where(m.Incident.number == number)
    if lock:
        # PostgreSQL: serialize writers on this incident. SQLite already holds the write lock.
        query = query.with_for_update()
    incident = session.scalars(query).one_or_none()
    if incident is None:
        raise NotFound(f"no incident {m.ID_PREFIX}{number}", public="incident not found")
    return incident


def _event(
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
    session.info.setdefault(_WRITTEN, []).append(event)
    return event


def _committed(store: IncidentStore, view: s.Incident, written: Sequence[s.Event]) -> s.Incident:
    """Tell the store's listeners (webhooks) about a committed change; return the view."""
    if written:
        store.notify(view, written)
    return view


def _written(session: Session) -> list[s.Event]:
    """The timeline events this session wrote, as views (call after the last flush)."""
    return [views.event_view(e) for e in session.info.pop(_WRITTEN, [])]


def _with_reason(text: str, reason: str | None) -> str:
    reason = (reason or "").strip()
    return f"{text}: {reason}" if reason else text


# -- roles ------------------------------------------------------------------------------------


def _apply_roles(
    store: IncidentStore,
    session: Session,
    incident: m.Incident,
    patch: s.RolesPatch,
    *,
    at: datetime,
    author: str | None,
    reason: str | None,
) -> int:
    """Apply role changes at `at`; return how many were written to the timeline."""
    now = store.now()
    written = 0
    open_roles = [r for r in incident.roles if r.relieved_at is None]
    holders = {r.role: r for r in open_roles if r.role != "responder"}

    def relieve(row: m.RoleAssignment) -> None:
        if at < row.assigned_at:
            raise InvalidInput(
                f"at: {at.isoformat()} is before {row.person} became "
                f"{_ROLE_LABEL[row.role]} ({row.assigned_at.isoformat()})"
            )
        row.relieved_at = at

    def assign(role: str, person: str) -> None:
        incident.roles.append(
            m.RoleAssignment(role=role, person=person, assigned_at=at, relieved_at=None)
        )

    for role in m.SINGLE_ROLES:
        if role not in patch.model_fields_set:
            continue
        person: str | None = getattr(patch, role)
        holder = holders.get(role)
        old = holder.person if holder else None
        if person == old:
            continue
        label = _ROLE_LABEL[role]
        if person is None:
            if role == "incident_commander":
                raise Conflict(
                    f"{incident.public_id} must always have an incident commander: hand the role "
                    "over to someone else instead of removing it"
                )
            text = f"{old} stepped down as {label}"
        elif old is None:
            text = f"{person} is {label}"
        else:
            verb = "handed over" if role == "incident_commander" else "passed"
            text = f"{label.capitalize()} {verb} from {old} to {person}"
        if holder is not None:
            relieve(holder)
            # Close the old tenure before the new one opens: one open holder per role.
            session.flush()
        if person is not None:
            assign(role, person)
        _event(
            session,
            incident,
            kind="role_change",
            text=_with_reason(text, reason),
            at=at,
            author=author,
            now=now,
            data={"role": role, "from": old, "to": person},
        )
        written += 1

    current = {r.person: r for r in open_roles if r.role == "responder"}
    if patch.responders is not None:
        wanted = list(dict.fromkeys(patch.responders))
    else:
        wanted = list(current)
        wanted += [p for p in dict.fromkeys(patch.add_responders) if p not in current]
        wanted = [p for p in wanted if p not in set(patch.remove_responders)]
    joined = [p for p in wanted if p not in current]
    left = [p for p in current if p not in wanted]
    if not joined and not left:
        return written
    for person in left:
        relieve(current[person])
    session.flush()
    for person in joined:
        assign("responder", person)
    parts = []
    if joined:
        parts.append(f"{', '.join(joined)} joined as responder{'s' if len(joined) > 1 else ''}")
    if left:
        parts.append(f"{', '.join(left)} left the responders")
    _event(
        session,
        incident,
        kind="role_change",
        text=_with_reason("; ".join(parts), reason),
        at=at,
        author=author,
        now=now,
        data={"role": "responder", "added": joined, "removed": left},
    )
    return written + 1


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
        _not_future(store, field, getattr(request, field))
    given = {f for f in ("started_at", "detected_at", "declared_at") if getattr(request, f)}
    _check_order(
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
        _event(
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
            _apply_roles(
                store,
                session,
                incident,
                request.roles,
                at=declared_at,
                author=request.author,
                reason=None,
            )
        view = views.view_one(store, session, incident)
        new_events = _written(session)
    return _committed(store, view, new_events)


def get_incident(*, store: IncidentStore, incident_id: str) -> s.Incident:
    number = parse_id(incident_id)
    with store.read() as session:
        return views.view_one(store, session, _load(session, number))


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
    _not_future(store, "at", at)
    for field in ("started_at", "detected_at"):
        _not_future(store, field, getattr(patch, field))
    level = store.taxonomy.resolve(patch.severity) if patch.severity else None
    with store.write() as session:
        incident = _load(session, number, lock=True)
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
                    "from": _iso(old) if isinstance(old, datetime) else old,
                    "to": _iso(value) if isinstance(value, datetime) else value,
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
            _check_order(_timestamps(incident), given=edits)
            _check_event_time(store, incident, at)
            _event(
                session,
                incident,
                kind="edit",
                text=_with_reason(f"Edited {', '.join(edits)}", patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data=edits,
            )
            changed = True

        if level is not None and level.id != incident.severity:
            _check_change_time(session, incident, at, "severity_change")
            old_level = incident.severity
            word = (
                "raised"
                if store.taxonomy.rank(level.id) < store.taxonomy.rank(old_level)
                else "lowered"
            )
            incident.severity = level.id
            _event(
                session,
                incident,
                kind="severity_change",
                text=_with_reason(f"Severity {word} from {old_level} to {level.id}", patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data={"from": old_level, "to": level.id},
            )
            changed = True

        if patch.roles is not None:
            _check_event_time(store, incident, at)
            written = _apply_roles(
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
            _check_change_time(session, incident, at, "status_change")
            reopen = lifecycle.is_reopen(current, patch.status)
            cleared = lifecycle.apply(incident, patch.status, at)
            text = f"{'Reopened' if reopen else 'Status'}: {current} -> {patch.status}"
            _event(
                session,
                incident,
                kind="status_change",
                text=_with_reason(text, patch.reason),
                at=at,
                author=patch.author,
                now=now,
                data={"from": current, "to": patch.status, "reopen": reopen, "previous": cleared},
            )
            changed = True

        if changed:
            incident.updated_at = now
        view = views.view_one(store, session, incident)
        new_events = _written(session)
    return _committed(store, view, new_events)


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
        incident = _load(session, number, lock=True)
        _check_event_time(store, incident, at)
        if event.corrects is not None:
            target = session.get(m.Event, event.corrects)
            if target is None or target.incident_number != number:
                raise InvalidInput(
                    f"corrects: event {event.corrects} is not on {incident.public_id}'s timeline"
                )
        data = dict(data or {})
        if event.audience is not None:
            data["audience"] = event.audience
        row = _event(
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
        session.info.pop(_WRITTEN, None)
    if view is not None:
        _committed(store, view, [added])
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
        _load(session, number)
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
        incident = _load(session, number)
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

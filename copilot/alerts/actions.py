"""What people (or policies) do with an alert group: declare, attach, dismiss."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from copilot.alerts import models as am
from copilot.alerts import schemas as s
from copilot.alerts.intake import Normal
from copilot.alerts.rules import Policy, RuleSet
from copilot.alerts.runbooks import RunbookFinder
from copilot.alerts.views import _alerts_by_group, get_group
from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.guardrails.screened import screened
from copilot.incidents import models as im
from copilot.incidents import schemas as inc_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore

log = logging.getLogger("copilot.alerts")

MAX_TIMELINE_ALERTS = 50
HANDLED = ("declared", "attached", "dismissed")


def alert_text(kind: str, alert: Normal) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    text = f"Alert {alert.name} {kind}"
    service = alert.labels.get("service")
    if service:
        text += f" on {service}"
    if summary:
        text += f": {summary}"
    return str(screened(text))[: inc_schemas.MAX_TEXT]


def _claim(store: IncidentStore, group_id: int, status: str, **values: Any) -> None:
    """Move an unhandled group to `status` (once: a second declare is a Conflict)."""
    now = store.now()
    with store.write() as session:
        done = session.execute(
            update(am.AlertGroup)
            .where(am.AlertGroup.id == group_id, am.AlertGroup.status.not_in(HANDLED))
            .values(status=status, updated_at=now, **values)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return
        group = session.get(am.AlertGroup, group_id)
        if group is None:
            raise NotFound(f"no alert group {group_id}", public="alert group not found")
        held = f" ({im.ID_PREFIX}{group.incident_number})" if group.incident_number else ""
        raise Conflict(f"alert group {group_id} is already {group.status}{held}")


def _release(store: IncidentStore, group_id: int, status: str) -> None:
    with store.write() as session:
        session.execute(
            update(am.AlertGroup)
            .where(am.AlertGroup.id == group_id)
            .values(status=status, incident_number=None)
        )


def _alerts_to_timeline(
    store: IncidentStore, incident_id: str, alerts: Sequence[am.Alert], author: str | None
) -> None:
    for row in alerts[:MAX_TIMELINE_ALERTS]:
        normal = Normal(
            fingerprint=row.fingerprint,
            status=row.status,
            labels={str(k): str(v) for k, v in row.labels.items()},
            annotations={str(k): str(v) for k, v in row.annotations.items()},
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            generator_url=row.generator_url,
        )
        data: dict[str, Any] = {"fingerprint": row.fingerprint, "change": "fired"}
        if row.generator_url:
            data["link"] = str(screened(row.generator_url))
        try:
            incidents.add_event(
                store=store,
                incident_id=incident_id,
                event=inc_schemas.EventCreate(
                    kind="alert",
                    text=alert_text("firing" if row.status == "firing" else "fired", normal),
                    at=min(row.starts_at, store.now()),
                    author=author,
                ),
                data=data,
            )
        except InvalidInput as exc:
            log.warning("alert %s not added to %s: %s", row.fingerprint, incident_id, exc)


def declare(
    *,
    store: IncidentStore,
    rules: RuleSet,
    group_id: int,
    request: s.DeclareRequest,
    finder: RunbookFinder | None = None,
) -> inc_schemas.Incident:
    """Declare an incident from a group: title, severity, services, impact start and detection
    from its alerts; the alerts become `alert` events on its timeline."""
    view = get_group(store=store, rules=rules, group_id=group_id, finder=finder)
    severity = request.severity or view.suggested_severity
    store.taxonomy.resolve(severity)  # a bad severity is refused before anything changes
    with store.read() as session:
        alerts = _alerts_by_group(session, [group_id])[group_id]
    if not alerts:
        raise InvalidInput(f"alert group {group_id} has no alerts to declare from")
    previous = view.status
    _claim(store, group_id, "declared")
    now = store.now()
    detected = min(min(a.first_seen for a in alerts), now)
    started = min(min(a.starts_at for a in alerts), detected)
    runbooks = ", ".join(f"{r.title} ({r.source})" for r in view.runbooks[:3])
    summary = f"Declared from alert group {group_id}: {view.reason}."
    if runbooks:
        summary += f" Runbooks: {runbooks}."
    try:
        incident = incidents.declare(
            store=store,
            request=inc_schemas.IncidentCreate(
                title=str(screened(request.title)) if request.title else view.title,
                summary=str(screened(summary))[: inc_schemas.MAX_TEXT],
                severity=severity,
                services=[str(x)[:100] for x in view.services[:20]],
                started_at=started,
                detected_at=detected,
                author=request.author,
            ),
        )
    except BaseException:
        _release(store, group_id, previous)
        raise
    number = incidents.parse_id(incident.id)
    with store.write() as session:
        session.execute(
            update(am.AlertGroup)
            .where(am.AlertGroup.id == group_id)
            .values(incident_number=number, updated_at=store.now())
        )
    _alerts_to_timeline(store, incident.id, alerts, request.author)
    return incidents.get_incident(store=store, incident_id=incident.id)


def attach(
    *, store: IncidentStore, rules: RuleSet, group_id: int, request: s.AttachRequest
) -> s.GroupView:
    """Attach a group to an open incident; its alerts go on the incident's timeline."""
    incident = incidents.get_incident(store=store, incident_id=request.incident_id)
    if incident.status not in im.OPEN_STATUSES:
        raise Conflict(
            f"{incident.id} is {incident.status}; alerts attach only to an open incident"
        )
    number = incidents.parse_id(incident.id)
    _claim(store, group_id, "attached", incident_number=number)
    with store.read() as session:
        alerts = _alerts_by_group(session, [group_id])[group_id]
    _alerts_to_timeline(store, incident.id, alerts, request.author)
    return get_group(store=store, rules=rules, group_id=group_id)


def dismiss(
    *, store: IncidentStore, rules: RuleSet, group_id: int, request: s.DismissRequest
) -> s.GroupView:
    """Dismiss a group with a reason (kept); its alerts no longer make it a candidate."""
    _claim(
        store,
        group_id,
        "dismissed",
        dismissed_reason=request.reason,
        dismissed_by=request.author,
    )
    return get_group(store=store, rules=rules, group_id=group_id)


def reopen(
    *, store: IncidentStore, rules: RuleSet, group_id: int, request: s.ReopenRequest
) -> s.GroupView:
    """Reopen the resolved or closed incident the group proposes, then attach the group to it
    (an incident someone reopened meanwhile is only attached to)."""
    with store.read() as session:
        group = session.get(am.AlertGroup, group_id)
        if group is None:
            raise NotFound(f"no alert group {group_id}", public="alert group not found")
        number, status = group.reopen_number, group.status
    if number is None:
        raise Conflict(f"alert group {group_id} does not propose reopening an incident")
    if status in HANDLED:
        raise Conflict(f"alert group {group_id} is already {status}")
    incident_id = f"{im.ID_PREFIX}{number}"
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    if incident.status not in im.OPEN_STATUSES:
        incidents.update_incident(
            store=store,
            incident_id=incident_id,
            patch=inc_schemas.IncidentPatch(
                status=request.status,
                reason=f"alert group {group_id} fired again after it ended",
                author=request.author,
            ),
        )
    return attach(
        store=store,
        rules=rules,
        group_id=group_id,
        request=s.AttachRequest(incident_id=incident_id, author=request.author),
    )


def _said(labels: dict[str, str], policy: Policy) -> str:
    names = [*policy.match, *(k for k in policy.match_re if k not in policy.match)]
    return " and ".join(f"{k}={labels.get(k, '')}" for k in names)


def auto_declare(
    *, store: IncidentStore, rules: RuleSet, group_id: int, finder: RunbookFinder | None = None
) -> str | None:
    """Declare the candidate's incident if an auto-declare policy matches one of its firing
    alerts; the policy and the labels it matched go on the timeline. Returns the incident id.

    Off unless the rules list `auto_declare` policies. A group that proposes reopening an
    incident is left to people; a policy that cannot declare (a bad severity, a group someone
    handled first) is logged and intake goes on.
    """
    if not rules.auto_declare:
        return None
    with store.read() as session:
        group = session.get(am.AlertGroup, group_id)
        if group is None or group.status != "candidate" or group.reopen_number is not None:
            return None
        alerts = _alerts_by_group(session, [group_id])[group_id]
    firing = [a for a in alerts if a.status == "firing"]
    matched = rules.policy_for({str(k): str(v) for k, v in a.labels.items()} for a in firing)
    if matched is None:
        return None
    policy, labels = matched
    author = f"policy {policy.name}"[:200]
    try:
        incident = declare(
            store=store,
            rules=rules,
            group_id=group_id,
            request=s.DeclareRequest(severity=policy.severity, author=author),
            finder=finder,
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        log.warning(
            "auto-declare policy %s did not declare group %s: %s", policy.name, group_id, exc
        )
        return None
    with store.write() as session:
        session.execute(
            update(am.AlertGroup).where(am.AlertGroup.id == group_id).values(policy=policy.name)
        )
    text = (
        f"Declared automatically by the alert policy {policy.name}: "
        f"{_said(labels, policy)} on {labels.get('alertname', 'an alert')} "
        f"(alert group {group_id})"
    )
    try:
        incidents.add_event(
            store=store,
            incident_id=incident.id,
            event=inc_schemas.EventCreate(
                kind="decision",
                text=str(screened(text))[: inc_schemas.MAX_TEXT],
                author=author,
            ),
            data={"policy": policy.name, "group_id": group_id},
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        log.warning("auto-declare reason not added to %s: %s", incident.id, exc)
    return incident.id

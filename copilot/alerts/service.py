"""Alert intake, state, correlation and candidates. Keyword-only, HTTP-agnostic.

A notification is applied in one transaction: its digest is recorded first, so the same
notification sent again (Alertmanager retries on 5xx, repeats every repeat_interval) changes
nothing. Each alert is one row keyed by fingerprint; firing -> resolved -> firing within the rules'
flap window counts a flap on that row, later it starts a new episode that is correlated afresh.

Correlation puts each new episode in an alert group: the first rule that matches its labels names
the key (its `group_by` labels, else the notification's groupKey); it joins the newest live group
of that key still inside the rule's window, else (with a service catalog) a live group whose
services are linked to its own in the catalog, else a new group. The reason is kept on the alert.
A group becomes a candidate at its rule's threshold; declare, attach and dismiss act on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from copilot.alerts import actions, reopening
from copilot.alerts import models as am
from copilot.alerts import schemas as s
from copilot.alerts.actions import attach, declare, dismiss, reopen
from copilot.alerts.intake import Normal, Notification
from copilot.alerts.rules import Rule, RuleSet, describe
from copilot.alerts.runbooks import RunbookFinder
from copilot.alerts.views import (
    LIST_BUDGET,
    MAX_LIST,
    WITHHELD,
    Budget,
    alert_view,
    get_alert,
    get_group,
    incident_alerts,
    list_alerts,
    list_groups,
    suggested_severity,
)
from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.incidents import models as im
from copilot.incidents import schemas as inc_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore

log = logging.getLogger("copilot.alerts")

# A key for PostgreSQL's advisory lock: one intake at a time, as SQLite's write lock gives.
_INTAKE_LOCK = 1_400_006
# Heartbeat (Watchdog) last seen, per alert name, for /metrics.
HEARTBEATS: dict[str, datetime] = {}

# (db, labels) -> catalog ref, and (db, refs) -> linked sets: the catalog's lookups, when present.
Resolver = Callable[[dict[str, str]], str | None]
Linker = Callable[[list[str]], list[set[str]]]


@dataclass
class Catalog:
    resolve: Resolver
    linked: Linker
    refs: dict[str, str | None] = field(default_factory=dict)

    def ref(self, labels: dict[str, str]) -> str | None:
        key = labels.get("service") or labels.get("job") or labels.get("app") or ""
        if key not in self.refs:
            self.refs[key] = self.resolve(labels) if key else None
        return self.refs[key]


def catalog_for(store: IncidentStore) -> Catalog | None:
    """The service catalog's lookups over the store's database, if the catalog package exists
    and holds entities; None otherwise (alerts then group by their rules alone)."""
    try:
        from copilot.catalog import lookup
    except ImportError:
        return None
    db = store.db
    try:
        return Catalog(
            resolve=lambda labels: lookup.resolve_labels(db, labels),
            linked=lambda refs: lookup.linked_groups(db, refs),
        )
    except Exception:  # a catalog that cannot be read must not stop intake
        log.exception("the service catalog cannot be read; grouping by rules alone")
        return None


# -- intake -----------------------------------------------------------------------------------


@dataclass
class _Change:
    group_id: int | None
    kind: str  # fired, resolved, flapped
    alert: Normal
    at: datetime


def apply(
    *,
    store: IncidentStore,
    rules: RuleSet,
    notification: Notification,
    catalog: Catalog | None = None,
    finder: RunbookFinder | None = None,
) -> s.IntakeResult:
    """Apply one notification; a notification applied before changes nothing.

    Groups it makes candidates are listed in the result; an auto-declare policy that matches
    one declares its incident (with `finder`'s runbooks in the summary).
    """
    now = store.now()
    changes: list[_Change] = []
    proposals: list[am.AlertGroup] = []
    counts = {"new": 0, "changed": 0, "flaps": 0}
    groups: set[int] = set()
    try:
        with store.write() as session:
            if store.db.is_postgresql:
                session.execute(select(func.pg_advisory_xact_lock(_INTAKE_LOCK)))
            seen = session.scalar(
                select(am.Notification.id).where(am.Notification.digest == notification.digest)
            )
            if seen is not None:
                return s.IntakeResult(
                    received=len(notification.alerts),
                    duplicate=True,
                    new=0,
                    changed=0,
                    flaps=0,
                    groups=_groups_of(session, notification.alerts),
                )
            session.add(
                am.Notification(
                    digest=notification.digest,
                    source=notification.source,
                    group_key=notification.group_key,
                    alerts=len(notification.alerts),
                    received_at=now,
                )
            )
            rows = {
                row.fingerprint: row
                for row in session.scalars(
                    select(am.Alert).where(
                        am.Alert.fingerprint.in_([a.fingerprint for a in notification.alerts])
                    )
                )
            }
            for alert in notification.alerts:
                row = rows.get(alert.fingerprint)
                change = _apply_one(
                    session,
                    rules,
                    notification,
                    alert,
                    row,
                    now=now,
                    catalog=catalog,
                    proposals=proposals,
                )
                if change is not None:
                    changes.append(change)
                    counts["new" if row is None else "changed"] += 1
                    counts["flaps"] += change.kind == "flapped"
            session.flush()
            groups.update(_groups_of(session, notification.alerts))
            promoted = _promote(session, rules, groups, now=now)
            incident_of = _incidents_of(session, {c.group_id for c in changes if c.group_id})
            proposed = [
                reopening.proposal(session, group, group.reopen_number, now=now)
                for group in proposals
                if group.reopen_number is not None
            ]
    except IntegrityError:
        # Only a concurrent copy of this very notification can collide (digest or fingerprint).
        raise Conflict("the same notification is being applied; send it again") from None
    _follow(store, changes, incident_of)
    for one in proposed:
        reopening.note(store, one)
    declared = [
        incident_id
        for group_id in promoted
        if (
            incident_id := actions.auto_declare(
                store=store, rules=rules, group_id=group_id, finder=finder
            )
        )
    ]
    return s.IntakeResult(
        received=len(notification.alerts),
        duplicate=False,
        groups=sorted(groups),
        candidates=promoted,
        declared=declared,
        **counts,
    )


def _groups_of(session: Session, alerts: Sequence[Normal]) -> list[int]:
    ids = session.scalars(
        select(am.Alert.group_id)
        .where(am.Alert.fingerprint.in_([a.fingerprint for a in alerts]))
        .where(am.Alert.group_id.is_not(None))
        .distinct()
    )
    return sorted(i for i in ids if i is not None)


def _apply_one(
    session: Session,
    rules: RuleSet,
    notification: Notification,
    alert: Normal,
    row: am.Alert | None,
    *,
    now: datetime,
    catalog: Catalog | None,
    proposals: list[am.AlertGroup],
) -> _Change | None:
    heartbeat = rules.is_heartbeat(alert.labels)
    if heartbeat:
        HEARTBEATS[alert.name] = now
    if row is None:
        row = am.Alert(
            fingerprint=alert.fingerprint,
            source=notification.source,
            alertname=alert.name[:200],
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            first_seen=now,
            last_seen=now,
            generator_url=alert.generator_url,
            flaps=0,
            notifications=1,
            heartbeat=heartbeat,
        )
        session.add(row)
        if not heartbeat:
            _correlate(
                session,
                rules,
                notification,
                alert,
                row,
                now=now,
                catalog=catalog,
                previous=None,
                proposals=proposals,
            )
        return _Change(
            row.group_id,
            "fired" if alert.status == "firing" else "resolved",
            alert,
            alert.starts_at if alert.status == "firing" else (alert.ends_at or now),
        )
    row.last_seen = now
    row.notifications += 1
    row.labels, row.annotations = alert.labels, alert.annotations
    if alert.generator_url:
        row.generator_url = alert.generator_url
    if alert.status == "resolved":
        if row.status == "firing" and alert.starts_at >= row.starts_at:
            row.status, row.ends_at = "resolved", alert.ends_at or now
            return _Change(row.group_id, "resolved", alert, row.ends_at)
        return None
    # Firing.
    if row.status == "firing":
        return None
    ended = row.ends_at or row.starts_at
    if alert.starts_at <= ended and alert.starts_at <= row.starts_at:
        return None  # an older notification arriving late: the alert has since resolved
    row.status, row.starts_at, row.ends_at = "firing", alert.starts_at, None
    if heartbeat:
        return None
    if (
        alert.starts_at - ended <= rules.flap_window
        and row.group_id is not None
        and reopening.ended_incident(session, row.group_id) is None
    ):
        row.flaps += 1
        return _Change(row.group_id, "flapped", alert, alert.starts_at)
    # A new episode, or a flap whose incident has resolved since: alerts never join a resolved
    # or closed incident, so it is correlated afresh (and may propose reopening that incident).
    row.flaps = 0
    _correlate(
        session,
        rules,
        notification,
        alert,
        row,
        now=now,
        catalog=catalog,
        previous=row.group_id,
        proposals=proposals,
    )
    return _Change(row.group_id, "fired", alert, alert.starts_at)


def _key(rule: Rule, notification: Notification, alert: Normal) -> tuple[str, str]:
    """The group key and how to say it ("service checkout-api")."""
    present = [(label, alert.labels[label]) for label in rule.group_by if alert.labels.get(label)]
    if present:
        key = ",".join(f"{k}={v}" for k, v in present)
        said = " and ".join(f"{k} {v}" for k, v in present)
    elif notification.group_key:
        key, said = f"groupKey={notification.group_key}", "Alertmanager group"
    else:
        key, said = f"alertname={alert.name}", f"alert {alert.name}"
    return f"{rule.name}|{key}"[:500], said


def _in_window(group: am.AlertGroup, rule: Rule, at: datetime) -> bool:
    anchor = group.last_at if rule.extending else group.first_at
    return group.first_at - rule.window <= at <= anchor + rule.window


def _live(session: Session, query: Any) -> list[am.AlertGroup]:
    """Groups that still take alerts: not dismissed, and not tied to a resolved incident."""
    groups = list(session.scalars(query))
    numbers = {g.incident_number for g in groups if g.incident_number is not None}
    if not numbers:
        return groups
    closed = set(
        session.scalars(
            select(im.Incident.number).where(
                im.Incident.number.in_(numbers), im.Incident.status.not_in(im.OPEN_STATUSES)
            )
        )
    )
    return [g for g in groups if g.incident_number not in closed]


def _correlate(
    session: Session,
    rules: RuleSet,
    notification: Notification,
    alert: Normal,
    row: am.Alert,
    *,
    now: datetime,
    catalog: Catalog | None,
    previous: int | None,
    proposals: list[am.AlertGroup],
) -> None:
    rule = rules.rule_for(alert.labels)
    if rule is None:
        row.group_id, row.group_reason = None, "no correlation rule matches its labels"
        return
    key, said = _key(rule, notification, alert)
    at = alert.starts_at
    window = describe(rule.window)
    same = [
        g
        for g in _live(
            session,
            select(am.AlertGroup)
            .where(am.AlertGroup.key == key, am.AlertGroup.status.in_(am.LIVE_GROUP_STATUSES))
            .order_by(am.AlertGroup.id.desc())
            .limit(5),
        )
        if _in_window(g, rule, at)
    ]
    if same:
        _join(row, same[0], at, f"same {said} within {window}", now=now)
        return
    if catalog is not None:
        joined = _join_linked(session, rule, alert, row, at, catalog, now=now)
        if joined:
            return
    reason = f"{said} (rule {rule.name}: {window} window{', extending' if rule.extending else ''})"
    ended = reopening.reopen_target(session, rules, key, previous, at)
    if ended is not None:
        incident, ago = ended
        reason += (
            f"; fired again {ago} after {incident.public_id} {incident.status}: "
            f"proposes reopening {incident.public_id} (alerts never join a {incident.status} "
            "incident)"
        )
    group = am.AlertGroup(
        key=key,
        rule=rule.name,
        status="open",
        reason=reason[:2000],
        first_at=at,
        last_at=at,
        created_at=now,
        updated_at=now,
        reopen_number=ended[0].number if ended is not None else None,
    )
    session.add(group)
    session.flush()
    if ended is not None:
        proposals.append(group)
    _join(row, group, at, f"first alert of {said}", now=now)


def _join(row: am.Alert, group: am.AlertGroup, at: datetime, reason: str, *, now: datetime) -> None:
    row.group_id, row.group_reason = group.id, reason[:2000]
    group.first_at = min(group.first_at, at)
    group.last_at = max(group.last_at, at)
    group.updated_at = now


def _join_linked(
    session: Session,
    rule: Rule,
    alert: Normal,
    row: am.Alert,
    at: datetime,
    catalog: Catalog,
    *,
    now: datetime,
) -> bool:
    """Join a live group in the window whose service the catalog links to this alert's."""
    try:
        mine = catalog.ref(alert.labels)
        if mine is None:
            return False
        since = at - rule.window
        nearby = [
            g
            for g in _live(
                session,
                select(am.AlertGroup)
                .where(
                    am.AlertGroup.status.in_(am.LIVE_GROUP_STATUSES),
                    am.AlertGroup.last_at >= since,
                )
                .order_by(am.AlertGroup.id.desc())
                .limit(50),
            )
            if _in_window(g, rule, at)
        ]
        for group in nearby:
            labels = session.scalars(
                select(am.Alert.labels).where(am.Alert.group_id == group.id).limit(20)
            )
            refs = {r for r in (catalog.ref(dict(lb)) for lb in labels) if r and r != mine}
            if not refs:
                continue
            for linked in catalog.linked([mine, *sorted(refs)]):
                if mine in linked and linked & refs:
                    other = sorted(linked & refs)[0]
                    _join(
                        row,
                        group,
                        at,
                        f"{_short(mine)} is linked to {_short(other)} in the service catalog "
                        f"(within {describe(rule.window)})",
                        now=now,
                    )
                    return True
    except Exception:  # the catalog is an aid: a failure there must not stop intake
        log.exception("the service catalog lookup failed; grouping by rules alone")
    return False


def _short(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _promote(
    session: Session, rules: RuleSet, group_ids: Iterable[int], *, now: datetime
) -> list[int]:
    """An open group past its rule's threshold becomes a candidate (one that proposes reopening
    an incident at once: a person should see it); returns the groups promoted."""
    promoted: list[int] = []
    for group in session.scalars(
        select(am.AlertGroup).where(am.AlertGroup.id.in_(list(group_ids)))
    ):
        if group.status != "open":
            continue
        if group.reopen_number is not None:
            group.status, group.updated_at = "candidate", now
            promoted.append(group.id)
            continue
        rule = rules.rule(group.rule)
        threshold = rule.threshold if rule is not None else None
        members = [
            (name, {str(k): str(v) for k, v in labels.items()}, status)
            for name, labels, status in session.execute(
                select(am.Alert.alertname, am.Alert.labels, am.Alert.status).where(
                    am.Alert.group_id == group.id
                )
            )
        ]
        counted = [
            name
            for name, labels, status in members
            if rules.counts(labels)
            and (threshold is None or not threshold.firing_only or status == "firing")
        ]
        alerts, names = len(counted), len(set(counted))
        urgent = any(
            status == "firing" and rules.is_urgent(labels) for _, labels, status in members
        )
        if urgent or threshold is None or alerts >= threshold.alerts or names >= threshold.names:
            group.status = "candidate"
            group.updated_at = now
            promoted.append(group.id)
    return sorted(promoted)


def _incidents_of(session: Session, group_ids: set[int | None]) -> dict[int, tuple[int, bool]]:
    """Group id -> (its incident's number, whether that incident is open)."""
    ids = [g for g in group_ids if g is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(am.AlertGroup.id, am.AlertGroup.incident_number, im.Incident.status)
        .join(im.Incident, im.Incident.number == am.AlertGroup.incident_number)
        .where(am.AlertGroup.id.in_(ids), am.AlertGroup.status.in_(reopening.FOLLOWED))
    )
    return {
        gid: (number, status in im.OPEN_STATUSES)
        for gid, number, status in rows
        if number is not None
    }


def _follow(
    store: IncidentStore, changes: list[_Change], incident_of: dict[int, tuple[int, bool]]
) -> None:
    """Alerts of a declared or attached group add their changes to the incident's timeline; a
    resolved or closed incident only hears of its alerts resolving."""
    for change in changes:
        number, is_open = incident_of.get(change.group_id or 0, (None, False))
        if number is None or (not is_open and change.kind != "resolved"):
            continue
        try:
            incidents.add_event(
                store=store,
                incident_id=f"{im.ID_PREFIX}{number}",
                event=inc_schemas.EventCreate(
                    kind="alert", text=actions.alert_text(change.kind, change.alert), at=change.at
                ),
                data={"fingerprint": change.alert.fingerprint, "change": change.kind},
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            log.warning("alert change not added to %s's timeline: %s", number, exc)


def heartbeat_ages(now: datetime) -> dict[str, float]:
    """Seconds since each heartbeat alert was last seen by this process."""
    return {name: max((now - at) / timedelta(seconds=1), 0.0) for name, at in HEARTBEATS.items()}


__all__ = [
    "LIST_BUDGET",
    "MAX_LIST",
    "WITHHELD",
    "Budget",
    "Catalog",
    "alert_view",
    "apply",
    "attach",
    "catalog_for",
    "declare",
    "dismiss",
    "get_alert",
    "get_group",
    "heartbeat_ages",
    "incident_alerts",
    "list_alerts",
    "list_groups",
    "reopen",
    "suggested_severity",
]

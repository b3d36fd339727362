"""The public status page's state, computed from published public updates and maintenance windows.

Only two sources move the page: public status updates once published (copilot.status: the text
as published and the component statuses and impact given at publish), and maintenance windows.
Drafts, internal and executive updates, timeline events, incident titles, people and labels are
never read here. Every text shown is screened again (`copilot.guardrails.screened`).

A component's status at a moment is the worst of what the unresolved incidents last set for it
(a resolved update clears the incident's settings), or `under_maintenance` while a window that
names it is in progress and nothing worse holds. Groups show their worst component. A window's
automatic start and end (copilot.statuspage.maintenance) count from the moment they are due,
whether a tick has recorded them yet or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from copilot.guardrails.screened import Screened, screened
from copilot.incidents.db import IncidentStore
from copilot.status.models import StatusDraft
from copilot.statuspage.cache import PageCache as PageCache
from copilot.statuspage.cache import cache_key as cache_key
from copilot.statuspage.cache import version as version
from copilot.statuspage.config import PageConfig
from copilot.statuspage.maintenance import ACTIVE_MAINTENANCE as ACTIVE_MAINTENANCE
from copilot.statuspage.maintenance import MAINTENANCE_ORDER as MAINTENANCE_ORDER
from copilot.statuspage.maintenance import apply_moves, due_moves
from copilot.statuspage.maintenance import create_maintenance as create_maintenance
from copilot.statuspage.maintenance import get_maintenance as get_maintenance
from copilot.statuspage.maintenance import list_maintenances as list_maintenances
from copilot.statuspage.maintenance import tick as tick
from copilot.statuspage.maintenance import update_maintenance as update_maintenance
from copilot.statuspage.models import Maintenance, MaintenanceUpdate

HISTORY_DAYS = 90
# Worst last; under_maintenance sits below every outage.
RANK = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
DOWN = frozenset({"partial_outage", "major_outage"})
IMPACT_OF = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
PUBLIC_STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved"})
INDICATORS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}


def worst(statuses: Sequence[str]) -> str:
    return max(statuses, key=RANK.__getitem__, default="operational")


@dataclass
class Update:
    """One published public update as the page shows it."""

    id: int
    incident_number: int
    status: str
    title: Screened
    body: Screened
    at: datetime
    components: dict[str, str]
    impact: str | None
    affected: list[tuple[str, str, str]] = field(default_factory=list)  # id, old, new


@dataclass
class Incident:
    number: int
    name: Screened
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: list[Update]  # newest first
    settings: dict[str, str]
    touched: list[str]

    @property
    def id(self) -> str:
        return f"INC-{self.number}"


@dataclass
class Window:
    row: Maintenance
    name: Screened
    updates: list[tuple[int, str, Screened, datetime]]  # id, status, body, at; newest first


@dataclass
class Day:
    date: datetime
    status: str  # the worst status of the day
    uptime: float  # share of the day's elapsed time not in partial or major outage
    down_seconds: float


@dataclass
class ComponentState:
    id: str
    status: str
    updated_at: datetime
    uptime: float | None  # over the history window; None for a group
    days: list[Day]


@dataclass
class PageState:
    config: PageConfig
    now: datetime
    updated_at: datetime
    components: dict[str, ComponentState]
    incidents: list[Incident]  # newest first
    maintenances: list[Window]  # upcoming and active first, by scheduled time
    indicator: str
    description: str

    @property
    def unresolved(self) -> list[Incident]:
        return [i for i in self.incidents if i.status != "resolved"]


# -- reading -----------------------------------------------------------------------------------


def _published_updates(store: IncidentStore) -> list[Update]:
    query = (
        select(
            StatusDraft.id,
            StatusDraft.incident_number,
            StatusDraft.phase,
            StatusDraft.published_title,
            StatusDraft.published_body,
            StatusDraft.published_at,
            StatusDraft.context,
        )
        .where(StatusDraft.audience == "public", StatusDraft.published_at.is_not(None))
        .order_by(StatusDraft.published_at, StatusDraft.id)
    )
    out: list[Update] = []
    with store.read() as session:
        for row in session.execute(query):
            page: dict[str, Any] = dict((row.context or {}).get("status_page") or {})
            components = {
                str(k): str(v)
                for k, v in (page.get("components") or {}).items()
                if str(v) in RANK and v != "under_maintenance"
            }
            impact = page.get("impact")
            # A status the publisher set wins over the one the incident's phase gives.
            status = page.get("status")
            out.append(
                Update(
                    id=row.id,
                    incident_number=row.incident_number,
                    status=status if status in PUBLIC_STATUSES else row.phase,
                    title=screened(row.published_title or ""),
                    body=screened(row.published_body or ""),
                    at=row.published_at,
                    components=components,
                    impact=impact if impact in IMPACT_RANK else None,
                )
            )
    return out


def _windows(store: IncidentStore, since: datetime, now: datetime) -> list[Window]:
    """Windows not completed, or completed inside the history (two queries), each with the
    automatic moves it is due by `now` applied (recorded or not yet)."""
    query = (
        select(Maintenance)
        .where((Maintenance.completed_at.is_(None)) | (Maintenance.completed_at >= since))
        .order_by(Maintenance.scheduled_for, Maintenance.id)
    )
    with store.read() as session:
        rows = list(session.scalars(query))
        ids = [r.id for r in rows]
        updates: dict[int, list[tuple[int, str, Screened, datetime]]] = {i: [] for i in ids}
        if ids:
            uq = (
                select(MaintenanceUpdate)
                .where(MaintenanceUpdate.maintenance_id.in_(ids))
                .order_by(MaintenanceUpdate.created_at.desc(), MaintenanceUpdate.id.desc())
            )
            for u in session.scalars(uq):
                updates[u.maintenance_id].append((u.id, u.status, screened(u.body), u.created_at))
        session.expunge_all()
    for r in rows:
        apply_moves(r, due_moves(r, now))
    return [Window(r, screened(r.name), updates[r.id]) for r in rows]


# -- computing ---------------------------------------------------------------------------------


def _start_of_day(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def build_state(
    *, store: IncidentStore, config: PageConfig, now: datetime | None = None
) -> PageState:
    """The whole page: components with history, incidents, maintenance, the overall status."""
    now = now or store.now()
    today = _start_of_day(now)
    since = today - timedelta(days=HISTORY_DAYS - 1)
    updates = _published_updates(store)
    windows = _windows(store, since, now)
    leaves = [c.id for c in config.leaves]
    known = set(leaves)

    # Events in time order: (at, order, kind, payload). Maintenance ends sort before starts.
    events: list[tuple[datetime, int, str, Any]] = []
    for pub in updates:
        events.append((pub.at, 2, "update", pub))
    for w in windows:
        if w.row.started_at is not None:
            events.append((w.row.started_at, 1, "start", w))
            if w.row.completed_at is not None:
                events.append((w.row.completed_at, 0, "end", w))
    events.sort(key=lambda e: (e[0], e[1]))

    incidents: dict[int, Incident] = {}
    in_maintenance: dict[int, list[str]] = {}
    current = dict.fromkeys(leaves, "operational")
    changed_at: dict[str, datetime] = {}
    # Each component's status changes: (at, status), starting operational.
    changes: dict[str, list[tuple[datetime, str]]] = {c: [] for c in leaves}

    def effective(cid: str) -> str:
        found = [
            i.settings[cid]
            for i in incidents.values()
            if i.status != "resolved" and cid in i.settings
        ]
        status = worst(found)
        if status == "operational" and any(cid in ids for ids in in_maintenance.values()):
            return "under_maintenance"
        return status

    for at, _, kind, payload in events:
        if kind == "update":
            u: Update = payload
            inc = incidents.get(u.incident_number)
            if inc is None:
                inc = Incident(
                    number=u.incident_number,
                    name=u.title,
                    status=u.status,
                    impact="none",
                    created_at=u.at,
                    updated_at=u.at,
                    monitoring_at=None,
                    resolved_at=None,
                    updates=[],
                    settings={},
                    touched=[],
                )
                incidents[u.incident_number] = inc
            for cid, status in u.components.items():
                if cid in known:
                    inc.settings[cid] = status
                    if cid not in inc.touched:
                        inc.touched.append(cid)
            inc.name = u.title
            inc.status = u.status
            inc.updated_at = u.at
            if u.status == "monitoring" and inc.monitoring_at is None:
                inc.monitoring_at = u.at
            inc.resolved_at = u.at if u.status == "resolved" else None
            if u.impact is not None:
                inc.impact = u.impact
            elif u.components:
                # Without an explicit impact, it follows the worst status set, and never drops.
                derived = IMPACT_OF[worst(list(u.components.values()))]
                if IMPACT_RANK[derived] > IMPACT_RANK[inc.impact]:
                    inc.impact = derived
            inc.updates.insert(0, u)
        elif kind == "start":
            in_maintenance[payload.row.id] = [c for c in payload.row.components if c in known]
        else:
            in_maintenance.pop(payload.row.id, None)
        for cid in leaves:
            status = effective(cid)
            if status != current[cid]:
                if kind == "update":
                    payload.affected.append((cid, current[cid], status))
                current[cid] = status
                changed_at[cid] = at
                changes[cid].append((at, status))

    start = min([u.at for u in updates] + [now])
    components: dict[str, ComponentState] = {}
    for cid in leaves:
        days = _days(changes[cid], since=since, now=now)
        total = (now - since).total_seconds()
        down = sum(d.down_seconds for d in days)
        components[cid] = ComponentState(
            id=cid,
            status=current[cid],
            updated_at=changed_at.get(cid, start),
            uptime=max(0.0, 1 - down / total) if total > 0 else 1.0,
            days=days,
        )
    for group in config.components:
        if group.is_group:
            kids = [components[c] for c in group.children]
            components[group.id] = ComponentState(
                id=group.id,
                status=worst([k.status for k in kids]),
                updated_at=max(k.updated_at for k in kids),
                uptime=None,
                days=[],
            )

    listed = sorted(incidents.values(), key=lambda i: (i.created_at, i.number), reverse=True)
    indicator = "none"
    for status in current.values():
        if IMPACT_RANK[IMPACT_OF[status]] > IMPACT_RANK[indicator]:
            indicator = IMPACT_OF[status]
    for inc in listed:
        if inc.status != "resolved" and IMPACT_RANK[inc.impact] > IMPACT_RANK[indicator]:
            indicator = inc.impact
    if indicator == "none" and "under_maintenance" in current.values():
        indicator = "maintenance"
    stamps = [start, *changed_at.values(), *(i.updated_at for i in listed)]
    stamps += [w.row.updated_at for w in windows]
    return PageState(
        config=config,
        now=now,
        updated_at=max(stamps),
        components=components,
        incidents=listed,
        maintenances=windows,
        indicator=indicator,
        description=INDICATORS[indicator],
    )


def _days(changes: list[tuple[datetime, str]], *, since: datetime, now: datetime) -> list[Day]:
    """Per UTC day from `since` to today: the worst status and the share of time up."""
    # Status segments [start, end) from the changes; operational before the first.
    segments: list[tuple[datetime, datetime, str]] = []
    status, begun = "operational", since
    for at, new in changes:
        if at > begun:
            segments.append((begun, at, status))
        begun = max(begun, at)
        status = new
    if now > begun:
        segments.append((begun, now, status))
    days: list[Day] = []
    day = since
    while day <= now:
        end = min(day + timedelta(days=1), now)
        elapsed = (end - day).total_seconds()
        statuses: list[str] = []
        down = 0.0
        for a, b, st in segments:
            lo, hi = max(a, day), min(b, end)
            if hi > lo or (a <= day < b):
                statuses.append(st)
                if st in DOWN and hi > lo:
                    down += (hi - lo).total_seconds()
        uptime = 1.0 - down / elapsed if elapsed > 0 else 1.0
        days.append(Day(day, worst(statuses), max(0.0, uptime), down))
        day += timedelta(days=1)
    return days

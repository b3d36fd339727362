"""Response metrics, computed from an incident's timestamps and its timeline.

Per incident: time to detect (detected - started), to declare, to mitigate and to resolve (each
from detection, or from the declaration when nobody gave a detection time: `measured_from` says
which), the customer-impact window (impact start to mitigation), response targets met or missed,
and update-cadence compliance: the gaps between published status updates, from the declaration to
resolution, checked against the cadence of the severity in force at the time. Aggregates group
these by severity and by service and name the services and tags that recur.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import cast

from copilot.errors import InvalidInput
from copilot.incidents.schemas import (
    AggregateMetrics,
    GroupMetrics,
    ImpactAnchor,
    ImpactWindow,
    IncidentMetrics,
    MetricsAnchor,
    Recurrence,
    RecurringModes,
    Stat,
    Status,
    TargetCheck,
    UpdateCadence,
)
from copilot.incidents.severity import Taxonomy

DURATIONS = ("time_to_detect_s", "time_to_declare_s", "time_to_mitigate_s", "time_to_resolve_s")
TARGETS = ("declare", "mitigate", "resolve")
_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Snapshot:
    """What the metrics need of one incident: its record and the relevant timeline events."""

    id: str
    severity: str
    status: str
    declared_at: datetime
    started_at: datetime | None = None
    detected_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    initial_severity: str = ""
    # (at, new severity), oldest first.
    severity_changes: tuple[tuple[datetime, str], ...] = ()
    status_updates: tuple[datetime, ...] = ()
    reopened: int = 0


@dataclass(frozen=True)
class Cadence:
    cadence_minutes: int
    updates_published: int
    last_update_at: datetime | None
    intervals: int
    breaches: int
    longest_gap_s: float | None
    next_update_due: datetime | None
    overdue: bool

    @property
    def compliance(self) -> float | None:
        if not self.intervals:
            return None
        return round((self.intervals - self.breaches) / self.intervals, 4)


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def severity_at(snap: Snapshot, moment: datetime) -> str:
    current = snap.initial_severity or snap.severity
    for at, level in snap.severity_changes:
        if at > moment:
            break
        current = level
    return current


def due_after(snap: Snapshot, since: datetime, taxonomy: Taxonomy) -> datetime:
    """When the next status update falls due after one published (or the declaration) at `since`.

    A change to a more urgent severity in the meantime brings the deadline forward to that
    change plus the new cadence; a change to a calmer one never pushes it back.
    """
    due = since + timedelta(minutes=taxonomy.cadence_minutes(severity_at(snap, since)))
    for at, level in snap.severity_changes:
        if since < at < due:
            due = min(due, at + timedelta(minutes=taxonomy.cadence_minutes(level)))
    return due


def cadence(snap: Snapshot, taxonomy: Taxonomy, now: datetime) -> Cadence:
    """Check the gaps between status updates from the declaration to resolution (or now)."""
    end = snap.resolved_at
    updates = sorted(snap.status_updates)
    points = [snap.declared_at] + [
        u for u in updates if u > snap.declared_at and (end is None or u <= end)
    ]
    intervals = breaches = 0
    gaps: list[float] = []
    for prev, nxt in pairwise(points):
        intervals += 1
        gaps.append((nxt - prev).total_seconds())
        breaches += nxt > due_after(snap, prev, taxonomy)
    last = points[-1]
    next_due: datetime | None = None
    overdue = False
    if end is not None:
        if end > last:
            intervals += 1
            gaps.append((end - last).total_seconds())
            breaches += end > due_after(snap, last, taxonomy)
    else:
        next_due = due_after(snap, last, taxonomy)
        overdue = now > next_due
        if overdue:
            # The running gap counts once it has gone past due.
            intervals += 1
            breaches += 1
        gaps.append(max(0.0, (now - last).total_seconds()))
    return Cadence(
        cadence_minutes=taxonomy.cadence_minutes(snap.severity),
        updates_published=len(updates),
        last_update_at=updates[-1] if updates else None,
        intervals=intervals,
        breaches=breaches,
        longest_gap_s=round(max(gaps), 3) if gaps else None,
        next_update_due=next_due,
        overdue=overdue,
    )


def anchor(snap: Snapshot) -> tuple[datetime, MetricsAnchor]:
    """Where response durations start: detection, else the declaration.

    Detection lies between impact start and the declaration, so counting from the declaration
    gives a lower bound; counting from impact start would blame the responders for detection lag.
    """
    if snap.detected_at is not None:
        return snap.detected_at, "detected"
    return snap.declared_at, "declared"


def impact_window(snap: Snapshot, now: datetime) -> ImpactWindow:
    # Impact is taken to begin at started_at, or at detection when nobody knows better (at the
    # declaration when nobody gave either: a lower bound), and to end at mitigation (resolution
    # sets mitigated_at when monitoring was skipped).
    begun: tuple[datetime, ImpactAnchor]
    if snap.started_at is not None:
        begun = snap.started_at, "started"
    elif snap.detected_at is not None:
        begun = snap.detected_at, "detected"
    else:
        begun = snap.declared_at, "declared"
    start, start_from = begun
    end = snap.mitigated_at or snap.resolved_at
    ongoing = end is None and snap.status not in ("resolved", "closed")
    duration = seconds(start, end if end is not None else (now if ongoing else None))
    return ImpactWindow(
        start=start, end=end, duration_s=duration, ongoing=ongoing, start_from=start_from
    )


def incident_metrics(snap: Snapshot, taxonomy: Taxonomy, now: datetime) -> IncidentMetrics:
    since, measured_from = anchor(snap)
    times = {
        "time_to_detect_s": seconds(snap.started_at, snap.detected_at),
        "time_to_declare_s": seconds(snap.detected_at, snap.declared_at),
        "time_to_mitigate_s": seconds(since, snap.mitigated_at),
        "time_to_resolve_s": seconds(since, snap.resolved_at),
    }
    goals = taxonomy.get(snap.severity).response_targets
    targets: dict[str, TargetCheck] = {}
    for name in TARGETS:
        minutes: int | None = getattr(goals, f"{name}_minutes")
        # Time to declare counted from the declaration would always be zero: no check then.
        if minutes is None or (name == "declare" and snap.detected_at is None):
            continue
        target_s = minutes * 60.0
        actual = times[f"time_to_{name}_s"]
        if actual is not None:
            met: bool | None = actual <= target_s
        else:
            # Still running: missed once the target has passed, unknown until then.
            met = False if (now - since).total_seconds() > target_s else None
        targets[name] = TargetCheck(target_s=target_s, actual_s=actual, met=met)
    c = cadence(snap, taxonomy, now)
    return IncidentMetrics(
        incident_id=snap.id,
        severity=snap.severity,
        status=cast(Status, snap.status),
        **times,
        measured_from=measured_from,
        impact=impact_window(snap, now),
        update_cadence=UpdateCadence(
            cadence_minutes=c.cadence_minutes,
            updates_published=c.updates_published,
            intervals=c.intervals,
            breaches=c.breaches,
            compliance=c.compliance,
            longest_gap_s=c.longest_gap_s,
            next_update_due=c.next_update_due,
            overdue=c.overdue,
        ),
        targets=targets,
        reopened=snap.reopened,
    )


def stat(values: Iterable[float | None]) -> Stat:
    present = [v for v in values if v is not None]
    if not present:
        return Stat(count=0, mean=None, p50=None)
    return Stat(
        count=len(present),
        mean=round(statistics.fmean(present), 3),
        p50=round(statistics.median(present), 3),
    )


def group(metrics: Sequence[IncidentMetrics]) -> GroupMetrics:
    missed = dict.fromkeys(TARGETS, 0)
    for m in metrics:
        for name, check in m.targets.items():
            missed[name] += check.met is False
    return GroupMetrics(
        incidents=len(metrics),
        time_to_detect_s=stat(m.time_to_detect_s for m in metrics),
        time_to_declare_s=stat(m.time_to_declare_s for m in metrics),
        time_to_mitigate_s=stat(m.time_to_mitigate_s for m in metrics),
        time_to_resolve_s=stat(m.time_to_resolve_s for m in metrics),
        # Only finished windows: an ongoing one is a lower bound and would drag the mean down.
        impact_s=stat(m.impact.duration_s for m in metrics if not m.impact.ongoing),
        update_breaches=sum(m.update_cadence.breaches for m in metrics),
        update_compliance=stat(m.update_cadence.compliance for m in metrics),
        targets_missed=missed,
    )


@dataclass
class _Tally:
    incidents: list[str] = field(default_factory=list)


def _recurring(pairs: Iterable[tuple[str, str]]) -> list[Recurrence]:
    seen: dict[str, _Tally] = defaultdict(_Tally)
    for name, incident_id in pairs:
        seen[name].incidents.append(incident_id)
    found = [
        Recurrence(name=name, count=len(t.incidents), incidents=t.incidents)
        for name, t in seen.items()
        if len(t.incidents) > 1
    ]
    return sorted(found, key=lambda r: (-r.count, r.name))


def aggregate(
    snaps: Sequence[Snapshot],
    taxonomy: Taxonomy,
    *,
    now: datetime,
    since: datetime | None,
    until: datetime,
) -> AggregateMetrics:
    per = {s.id: incident_metrics(s, taxonomy, now) for s in snaps}
    by_severity: dict[str, list[IncidentMetrics]] = defaultdict(list)
    by_service: dict[str, list[IncidentMetrics]] = defaultdict(list)
    for s in snaps:
        by_severity[s.severity].append(per[s.id])
        for service in s.services:
            by_service[service].append(per[s.id])
    severity_order = sorted(by_severity, key=taxonomy.rank)
    return AggregateMetrics(
        since=since,
        until=until,
        overall=group(list(per.values())),
        by_severity={sev: group(by_severity[sev]) for sev in severity_order},
        by_service={svc: group(by_service[svc]) for svc in sorted(by_service)},
        recurring=RecurringModes(
            services=_recurring((svc, s.id) for s in snaps for svc in s.services),
            tags=_recurring((tag, s.id) for s in snaps for tag in s.tags),
        ),
    )


def parse_since(text: str, *, now: datetime, field_name: str = "since") -> datetime:
    """`30d`, `12h`, `90m`, `2w` back from now, or an ISO date or date-time (UTC if no offset)."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        try:
            return now - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise InvalidInput(f"{field_name}: {text.strip()!r} reaches too far back") from None
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(
                f"{field_name}: {raw[:40]!r} is neither a duration like 30d, 12h or 90m nor an "
                "ISO date or date-time"
            ) from None
        parsed = datetime(day.year, day.month, day.day)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

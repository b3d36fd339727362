"""Load on people: hours a role was held, and timeline entries written, by time of day."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copilot.guardrails.screened import ours
from copilot.incidents.db import IncidentStore
from copilot.incidents.models import Event, Incident, RoleAssignment
from copilot.insights import schemas as s

LOAD_NOTE = (
    "Hours a role was held, and timeline entries written, by time of day: business hours "
    "(Mon-Fri 09:00-18:00), evenings and weekends (07:00-22:00 otherwise) and night "
    "(22:00-07:00). By role, not by person: this is about load, not about ranking people."
)
BUCKETS = ("business", "evening", "night")
MAX_ROLE_SPAN = timedelta(days=14)


def bucket(moment: datetime) -> str:
    """business (Mon-Fri 09-18), night (22-07), else evening (evenings and weekend days)."""
    hour = moment.hour
    if hour >= 22 or hour < 7:
        return "night"
    if moment.weekday() < 5 and 9 <= hour < 18:
        return "business"
    return "evening"


def split_hours(start: datetime, end: datetime, zone: tzinfo) -> dict[str, float]:
    """Hours of [start, end) in each bucket, in `zone`'s local time."""
    out = dict.fromkeys(BUCKETS, 0.0)
    cursor = start
    while cursor < end:
        local = cursor.astimezone(zone)
        next_hour = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        step_end = min(end, next_hour.astimezone(UTC))
        if step_end <= cursor:  # a clock change: move on by an hour of real time
            step_end = min(end, cursor + timedelta(hours=1))
        out[bucket(local)] += (step_end - cursor).total_seconds() / 3600
        cursor = step_end
    return {k: round(v, 2) for k, v in out.items()}


def figures(session: Session, store: IncidentStore, numbers: Any, timezone: str) -> s.Load:
    """Load on people over the incidents `numbers` (a SELECT of their numbers)."""
    zone = ZoneInfo(timezone)
    # Entries written, by the hour of day and day of week: 168 groups at most, from the database.
    hours_of = _hour_and_day(session, Event.at)
    events: Counter[str] = Counter()
    if hours_of is not None and timezone == "UTC":
        hour, dow = hours_of
        for h, d, count in session.execute(
            select(hour, dow, func.count())
            .where(Event.incident_number.in_(numbers), Event.author.is_not(None))
            .group_by(hour, dow)
        ):
            # Day of week from the database: 0 = Sunday on both SQLite and PostgreSQL.
            monday_first = (int(d) + 6) % 7
            moment = datetime(2024, 1, 1 + monday_first, int(h), tzinfo=UTC)  # a Monday week
            events[bucket(moment)] += count
    else:
        for (at,) in session.execute(
            select(Event.at).where(Event.incident_number.in_(numbers), Event.author.is_not(None))
        ):
            events[bucket(at.astimezone(zone))] += 1
    now = store.now()
    roles: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0.0))
    people: dict[str, set[str]] = defaultdict(set)
    for role, person, assigned, relieved, resolved in session.execute(
        select(
            RoleAssignment.role,
            RoleAssignment.person,
            RoleAssignment.assigned_at,
            RoleAssignment.relieved_at,
            Incident.resolved_at,
        )
        .join(Incident, Incident.number == RoleAssignment.incident_number)
        .where(RoleAssignment.incident_number.in_(numbers))
    ):
        end = relieved or resolved or now
        end = min(end, assigned + MAX_ROLE_SPAN)
        if end <= assigned:
            continue
        for name, hours in split_hours(assigned, end, zone).items():
            roles[role][name] += hours
        people[role].add(person)
    return s.Load(
        note=ours(LOAD_NOTE),
        timezone=timezone,
        buckets=list(BUCKETS),
        events={b: events.get(b, 0) for b in BUCKETS},
        roles=[
            s.LoadRow(
                role=role,
                people=len(people[role]),
                hours={k: round(v, 2) for k, v in hours.items()},
            )
            for role, hours in sorted(roles.items())
        ],
    )


def _hour_and_day(session: Session, column: Any) -> tuple[Any, Any] | None:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return (
            func.cast(func.strftime("%H", column), type_=_int()),
            func.cast(func.strftime("%w", column), type_=_int()),
        )
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        return func.extract("hour", utc), func.extract("dow", utc)
    return None


def _int() -> Any:
    from sqlalchemy import Integer

    return Integer()

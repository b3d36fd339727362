"""Figures across incidents over a period, filterable by severity and service.

Counts, groupings and the status-update gaps are computed in the database (GROUP BY, a LAG
window); what reaches Python is one row per incident (its timestamps), one per published status
update and one per role assignment, never the whole timeline. Durations are shown as
distributions (median, p90, a histogram) against the severity's targets: incident durations are
skewed, a few long incidents pull the mean far from the typical one (the VOID report, Google's
"Incident Metrics in SRE"), so the mean is given only beside them.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from copilot.errors import InvalidInput
from copilot.followups.models import FollowUp
from copilot.guardrails.screened import ours, screened
from copilot.incidents.db import IncidentStore
from copilot.incidents.metrics import parse_since
from copilot.incidents.models import Event, Incident, Label
from copilot.insights import clusters as clustering
from copilot.insights import schemas as s
from copilot.insights.history import ASSUMED_TAG, IMPORTED_TAG
from copilot.insights.knowledge import figures as knowledge_figures
from copilot.insights.load import figures as load_figures

DURATION_NOTE = (
    "Medians and 90th percentiles, not means: incident durations are skewed, and a few long "
    "incidents pull the mean far from the typical one (the VOID report; Google, 'Incident "
    "Metrics in SRE'). With few incidents these figures move a lot: read n first. Time to "
    "detect runs from impact start; the others from detection (or the declaration when no "
    "detection time was given). Imported incidents whose recovery no row stated are left out "
    "of time to mitigate and to resolve."
)
CADENCE_NOTE = (
    "Gaps between consecutive published status updates (the first from the declaration), "
    "each checked against the update cadence of the incident's current severity."
)
# Histogram bins in seconds: people think in these steps, and durations span minutes to days.
EDGES = (0, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)
EDGE_LABELS = ("<5m", "5-15m", "15-30m", "30m-1h", "1-2h", "2-4h", "4-8h", "8-24h", ">1d")
METRICS = ("time_to_detect", "time_to_declare", "time_to_mitigate", "time_to_resolve")
_TARGETS = {
    "time_to_declare": "declare",
    "time_to_mitigate": "mitigate",
    "time_to_resolve": "resolve",
}


@dataclass(frozen=True)
class Query:
    since: datetime
    until: datetime
    severity: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    team: str | None = None
    timezone: str = "UTC"


def make_query(
    store: IncidentStore,
    *,
    since: str = "90d",
    until: str | None = None,
    severity: Sequence[str] = (),
    service: Sequence[str] = (),
    timezone: str = "UTC",
    team: str | None = None,
) -> Query:
    """Validate the caller's filters: a bad one is InvalidInput (a 4xx, a CLI usage error).

    `team` keeps the services the service catalog says the team owns (copilot.catalog.lookup
    `owner_of`), and the follow-ups assigned to that team.
    """
    now = store.now()
    start = parse_since(since, now=now)
    end = parse_since(until, now=now, field_name="until") if until else now
    if end <= start:
        raise InvalidInput("until must be after since")
    levels = tuple(dict.fromkeys(store.taxonomy.resolve(x).id for x in severity))
    services = tuple(dict.fromkeys(x.strip().lower() for x in service if x.strip()))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone: {timezone[:60]!r} is not an IANA zone name") from None
    owner = team.strip().lower() if team and team.strip() else None
    if owner is not None:
        owned = owned_services(store, owner)
        services = tuple(x for x in services if x in owned) if services else tuple(sorted(owned))
        # A team that owns none of the services seen keeps no incident.
        services = services or (NO_SERVICE,)
    return Query(start, end, levels, services, team=owner, timezone=timezone)


NO_SERVICE = "\x00none"


def owned_services(store: IncidentStore, team: str) -> set[str]:
    """The incidents' service names whose catalog owner is `team` (a group ref, name or title)."""
    from copilot.catalog.lookup import owner_of, resolve

    with store.read() as session:
        names = set(session.scalars(select(Label.name).where(Label.kind == "service").distinct()))
    owned = set()
    for name in names:
        ref = resolve(store.db, name)
        found = owner_of(store.db, ref) if ref else None
        if found is None:
            continue
        keys = {found.ref.lower(), found.ref.rsplit("/", 1)[-1].lower(), str(found.name).lower()}
        if team in keys:
            owned.add(name)
    return owned


def _incident_filter(q: Query) -> Any:
    clause = and_(Incident.declared_at >= q.since, Incident.declared_at < q.until)
    if q.severity:
        clause = and_(clause, Incident.severity.in_(q.severity))
    if q.service:
        has = (
            select(Label.incident_number)
            .where(Label.kind == "service", Label.name.in_(q.service))
            .scalar_subquery()
        )
        clause = and_(clause, Incident.number.in_(has))
    return clause


def _numbers(q: Query) -> Select[Any]:
    return select(Incident.number).where(_incident_filter(q))


# -- distributions ----------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, `statistics` 'inclusive')."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p
    low, high = math.floor(rank), math.ceil(rank)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 3)


def histogram(values: Sequence[float]) -> list[s.Bin]:
    counts = [0] * len(EDGES)
    for v in values:
        counts[max(0, bisect_right(EDGES, v) - 1)] += 1
    return [
        s.Bin(
            label=EDGE_LABELS[i],
            lower_s=EDGES[i],
            upper_s=EDGES[i + 1] if i + 1 < len(EDGES) else None,
            count=counts[i],
        )
        for i in range(len(EDGES))
    ]


def distribution(values: Sequence[float], target_s: float | None = None) -> s.Distribution:
    within = None
    if target_s is not None and values:
        within = round(sum(1 for v in values if v <= target_s) / len(values), 4)
    return s.Distribution(
        n=len(values),
        median_s=percentile(values, 0.5),
        p90_s=percentile(values, 0.9),
        mean_s=round(statistics.fmean(values), 3) if values else None,
        min_s=min(values) if values else None,
        max_s=max(values) if values else None,
        histogram=histogram(values),
        target_s=target_s,
        within_target=within,
    )


def _durations(session: Session, store: IncidentStore, q: Query) -> s.Durations:
    assumed = (
        select(Label.incident_number)
        .where(Label.kind == "tag", Label.name == ASSUMED_TAG)
        .scalar_subquery()
    )
    # Differences in seconds computed by the database: no timestamp reaches Python.
    anchor = func.coalesce(Incident.detected_at, Incident.declared_at)
    not_assumed = Incident.number.not_in(assumed)
    spans = {
        "time_to_detect": (Incident.started_at, Incident.detected_at, None),
        "time_to_declare": (Incident.detected_at, Incident.declared_at, None),
        "time_to_mitigate": (anchor, Incident.mitigated_at, not_assumed),
        "time_to_resolve": (anchor, Incident.resolved_at, not_assumed),
    }
    values: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in METRICS}
    for metric, (a, b, keep) in spans.items():
        gap = seconds_between(session, a, b)
        query = select(Incident.severity, gap).where(
            _incident_filter(q), a.is_not(None), b.is_not(None), b >= a
        )
        if keep is not None:
            query = query.where(keep)
        for severity, value in session.execute(query):
            values[metric][severity].append(round(float(value), 3))
    out: dict[str, s.Duration] = {}
    for metric in METRICS:
        by_sev = {}
        for level in store.taxonomy.levels:
            target = _target(store, level.id, metric)
            if values[metric].get(level.id) or level.id in q.severity:
                by_sev[level.id] = distribution(values[metric].get(level.id, []), target)
        everything = [v for vs in values[metric].values() for v in vs]
        out[metric] = s.Duration(**distribution(everything).model_dump(), by_severity=by_sev)
    return s.Durations(note=ours(DURATION_NOTE), **out)


def _target(store: IncidentStore, level: str, metric: str) -> float | None:
    key = _TARGETS.get(metric)
    if key is None:
        return None
    minutes = getattr(store.taxonomy.get(level).response_targets, f"{key}_minutes", None)
    return float(minutes) * 60 if minutes is not None else None


# -- counts -----------------------------------------------------------------------------------


def _incident_figures(session: Session, q: Query) -> s.IncidentFigures:
    where = _incident_filter(q)
    by_severity = dict(
        session.execute(
            select(Incident.severity, func.count()).where(where).group_by(Incident.severity)
        ).all()
    )
    service_rows = session.execute(
        select(Label.name, func.count())
        .where(Label.kind == "service", Label.incident_number.in_(_numbers(q)))
        .group_by(Label.name)
        .order_by(func.count().desc(), Label.name)
    ).all()
    imported = session.scalar(
        select(func.count())
        .select_from(Label)
        .where(
            Label.kind == "tag",
            Label.name == IMPORTED_TAG,
            Label.incident_number.in_(_numbers(q)),
        )
    )
    # One row per incident and severity-day is small; weeks are bucketed here because date
    # arithmetic differs between SQLite and PostgreSQL.
    weeks: dict[date, Counter[str]] = defaultdict(Counter)
    for declared, severity in session.execute(
        select(Incident.declared_at, Incident.severity).where(where)
    ):
        day = declared.astimezone(UTC).date()
        weeks[day - timedelta(days=day.weekday())][severity] += 1
    # From the first week with an incident (or the period's start, when that is later).
    first = min(weeks) if weeks else q.until.date()
    start = max(q.since.date() - timedelta(days=q.since.date().weekday()), first)
    by_week = []
    week = start
    while week < q.until.date() + timedelta(days=1):
        counts = weeks.get(week, Counter())
        by_week.append(s.WeekCount(week=week, count=sum(counts.values()), by_severity=dict(counts)))
        week += timedelta(days=7)
        if len(by_week) > 600:  # about 11 years of weeks: enough for any review
            break
    return s.IncidentFigures(
        count=sum(by_severity.values()),
        by_week=by_week,
        by_severity=by_severity,
        by_service=[s.Count(name=n, count=c) for n, c in service_rows],
        imported=imported or 0,
    )


def _repeat_offenders(session: Session, q: Query) -> list[s.RepeatOffender]:
    rows = session.execute(
        select(Label.name, Label.incident_number)
        .where(
            Label.kind == "service",
            Label.incident_number.in_(_numbers(q)),
            Label.name.in_(
                select(Label.name)
                .where(Label.kind == "service", Label.incident_number.in_(_numbers(q)))
                .group_by(Label.name)
                .having(func.count() >= 2)
            ),
        )
        .order_by(Label.name, Label.incident_number)
    ).all()
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, number in rows:
        grouped[name].append(f"INC-{number}")
    return sorted(
        (s.RepeatOffender(service=n, count=len(ids), incidents=ids) for n, ids in grouped.items()),
        key=lambda r: (-r.count, r.service),
    )


def _cadence(session: Session, store: IncidentStore, q: Query) -> s.Cadence:
    updates = (
        select(
            Event.incident_number.label("number"),
            Event.at.label("at"),
            func.lag(Event.at, type_=Event.__table__.c.at.type)
            .over(partition_by=Event.incident_number, order_by=(Event.at, Event.id))
            .label("previous"),
        )
        .where(Event.kind == "status_update", Event.incident_number.in_(_numbers(q)))
        .subquery()
    )
    since = func.coalesce(updates.c.previous, Incident.declared_at)
    gap = seconds_between(session, since, updates.c.at)
    cadence = case(
        *[
            (Incident.severity == level.id, level.update_cadence_minutes * 60.0)
            for level in store.taxonomy.levels
        ],
        else_=store.taxonomy.lowest.update_cadence_minutes * 60.0,
    )
    rows = session.execute(
        select(
            Incident.severity,
            func.count(),
            func.sum(case((gap <= cadence, 1), else_=0)),
        )
        .join(updates, updates.c.number == Incident.number)
        # An update back-dated before the declaration has no gap to check.
        .where(updates.c.at >= since)
        .group_by(Incident.severity)
    ).all()
    tally: dict[str, list[int]] = {sev: [int(n), int(ok or 0)] for sev, n, ok in rows}
    intervals = sum(t[0] for t in tally.values())
    on_time = sum(t[1] for t in tally.values())
    return s.Cadence(
        note=ours(CADENCE_NOTE),
        intervals=intervals,
        on_time=on_time,
        share_on_time=round(on_time / intervals, 4) if intervals else None,
        by_severity={
            level: {"n": n, "on_time": ok, "share_on_time": round(ok / n, 4) if n else None}
            for level, (n, ok) in sorted(tally.items())
        },
    )


def seconds_between(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds, as SQL (SQLite keeps UTC text; PostgreSQL timestamps)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _follow_ups(session: Session, store: IncidentStore, q: Query) -> s.FollowUpFigures:
    today = store.now().date()
    where: Any = and_(FollowUp.created_at >= q.since, FollowUp.created_at <= q.until)
    if q.severity or q.service:
        where = and_(where, FollowUp.incident_number.in_(_numbers(q)))
    if q.team:
        where = and_(where, FollowUp.team == q.team)
    late = and_(FollowUp.status.in_(("open", "in_progress")), FollowUp.due_on < today)
    rows = session.execute(
        select(
            FollowUp.team,
            FollowUp.status,
            func.count(),
            func.sum(case((late, 1), else_=0)),
        )
        .where(where)
        .group_by(FollowUp.team, FollowUp.status)
    ).all()
    status: Counter[str] = Counter()
    teams: dict[str, Counter[str]] = defaultdict(Counter)
    overdue = 0
    for team, state, count, lates in rows:
        status[state] += count
        teams[team or "(no team)"][state] += count
        overdue += int(lates or 0)
    ages = [
        (today - created.date()).days
        for (created,) in session.execute(
            select(FollowUp.created_at).where(where, FollowUp.status.in_(("open", "in_progress")))
        )
    ]
    n = sum(status.values())

    def rate(c: Counter[str]) -> float | None:
        denominator = sum(c.values()) - c["wont_do"]
        return round(c["done"] / denominator, 4) if denominator else None

    return s.FollowUpFigures(
        n=n,
        created=n,
        open=status["open"],
        in_progress=status["in_progress"],
        done=status["done"],
        wont_do=status["wont_do"],
        overdue=overdue,
        completion_rate=rate(status),
        by_team=[
            s.TeamFollowUps(
                team=team,
                n=sum(c.values()),
                done=c["done"],
                wont_do=c["wont_do"],
                completion_rate=rate(c),
            )
            for team, c in sorted(teams.items())
        ],
        open_age_days={
            "n": len(ages),
            "median": percentile([float(a) for a in ages], 0.5),
            "p90": percentile([float(a) for a in ages], 0.9),
        },
    )


# -- all of it --------------------------------------------------------------------------------


def insights(
    *,
    store: IncidentStore,
    query: Query,
    embedder: Any = None,
    runbooks: Sequence[str] | None = None,
    with_clusters: bool = True,
    kb: Any = None,
) -> s.Insights:
    """Every figure; `kb` (a KnowledgeBase) adds the runbook figures that need its sections."""
    if kb is not None and runbooks is None:
        runbooks = sorted(src for src, f in kb.files().items() if f.kind == "runbook")
    with store.read() as session:
        incidents = _incident_figures(session, query)
        durations = _durations(session, store, query)
        cadence = _cadence(session, store, query)
        offenders = _repeat_offenders(session, query)
        follow = _follow_ups(session, store, query)
        load = load_figures(session, store, _numbers(query), query.timezone)
        knowledge = knowledge_figures(
            session,
            since=query.since,
            until=query.until,
            incidents=_numbers(query),
            runbooks=runbooks,
            kb=kb,
        )
        docs = (
            session.execute(
                select(Incident.number, Incident.title, Incident.summary)
                .where(_incident_filter(query))
                .order_by(Incident.number)
            ).all()
            if with_clusters
            else []
        )
    found = clustering.cluster(
        [(f"INC-{n}", t, f"{t}. {summary}") for n, t, summary in docs], embedder=embedder
    )
    return s.Insights(
        period=s.Period(
            since=query.since,
            until=query.until,
            severity=list(query.severity),
            service=list(query.service),
            team=query.team,
        ),
        incidents=incidents,
        durations=durations,
        cadence=cadence,
        clusters=[
            s.Cluster(
                label=screened(c.label),
                terms=[screened(t) for t in c.terms],
                size=len(c.members),
                incidents=[s.ClusterIncident(id=i, title=screened(t)) for i, t in c.members],
            )
            for c in found.clusters
        ],
        clustering=s.Clusters(method=found.method, n=found.n, singletons=found.singletons),
        repeat_offenders=offenders,
        follow_ups=follow,
        load=load,
        knowledge=knowledge,
    )

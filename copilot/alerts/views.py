"""Views of alerts and alert groups: every label, annotation and reason shown is screened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copilot.alerts import models as am
from copilot.alerts import schemas as s
from copilot.alerts.rules import RuleSet
from copilot.alerts.runbooks import MAX_QUERY, RunbookFinder
from copilot.errors import InvalidInput, NotFound
from copilot.guardrails.redact import redact
from copilot.guardrails.screened import Screened, ours, screened
from copilot.incidents import models as im
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.knowledge.terms import split_camel

MAX_LIST = 500
# Candidates of one list whose similar past incidents are looked up (a search each).
MAX_SIMILAR_GROUPS = 20
MAX_SIMILAR_NAMES = 5


def _s(value: Any) -> Screened:
    return screened(str(value))


# Screening costs tens of microseconds a character, so a view shows at most this much of each
# value (the database keeps it whole); a cut value ends with an ellipsis.
SHOWN_LABEL = 256
SHOWN_ANNOTATION = 1024
SHOWN_URL = 512


# Characters of label and annotation values one list response screens; past it, values read
# WITHHELD (the alert's own GET shows them). Real alerts fit many times over; a flood of alerts
# with long random values cannot make a list take minutes.
LIST_BUDGET = 30_000
WITHHELD = ours("[not shown in this list: over its screening budget; GET the alert itself]")


class Budget:
    def __init__(self, chars: int | None) -> None:
        self.left = chars

    def take(self, n: int) -> bool:
        if self.left is None:
            return True
        if n > self.left:
            self.left = 0
            return False
        self.left -= n
        return True


def _shown(value: Any, limit: int, budget: Budget) -> Screened:
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return screened(text) if budget.take(len(text)) else WITHHELD


def alert_view(row: am.Alert, budget: Budget | None = None) -> s.AlertView:
    budget = budget or Budget(None)
    return s.AlertView(
        fingerprint=row.fingerprint,
        name=_shown(row.alertname, SHOWN_LABEL, budget),
        status="firing" if row.status == "firing" else "resolved",
        labels={str(k): _shown(v, SHOWN_LABEL, budget) for k, v in row.labels.items()},
        annotations={
            str(k): _shown(v, SHOWN_ANNOTATION, budget) for k, v in row.annotations.items()
        },
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        flaps=row.flaps,
        notifications=row.notifications,
        heartbeat=row.heartbeat,
        source=row.source,
        generator_url=_shown(row.generator_url, SHOWN_URL, budget) if row.generator_url else None,
        group_id=row.group_id,
        group_reason=_shown(row.group_reason, SHOWN_ANNOTATION, budget)
        if row.group_reason
        else None,
    )


def list_alerts(
    *, store: IncidentStore, status: str | None = None, limit: int = 100
) -> list[s.AlertView]:
    query = select(am.Alert).order_by(am.Alert.last_seen.desc(), am.Alert.id.desc()).limit(limit)
    if status is not None:
        query = query.where(am.Alert.status == status)
    with store.read() as session:
        budget = Budget(LIST_BUDGET)
        return [alert_view(r, budget) for r in session.scalars(query)]


def get_alert(*, store: IncidentStore, fingerprint: str) -> s.AlertView:
    with store.read() as session:
        row = session.scalars(
            select(am.Alert).where(am.Alert.fingerprint == fingerprint[:64])
        ).one_or_none()
        if row is None:
            raise NotFound(
                f"no alert with fingerprint {fingerprint[:64]!r}", public="alert not found"
            )
        return alert_view(row)


def suggested_severity(
    store: IncidentStore, rules: RuleSet, alerts: Sequence[am.Alert]
) -> tuple[str, str]:
    """The most severe level the alerts' `severity` labels map to, and why."""
    taxonomy = store.taxonomy
    best = taxonomy.resolve(rules.severity.default).id
    why = f"no alert has a mapped severity label; the rules' default {best}"
    for row in alerts:
        label = str(row.labels.get("severity", "")).strip().lower()
        mapped = rules.severity.map.get(label)
        if mapped is None:
            continue
        try:
            level = taxonomy.resolve(mapped).id
        except InvalidInput:
            continue
        if why.startswith("no alert") or taxonomy.rank(level) < taxonomy.rank(best):
            best, why = level, f"severity={label} on {row.alertname} maps to {level}"
    return best, why


def _title(alerts: Sequence[am.Alert], services: list[str]) -> str:
    names: dict[str, int] = {}
    for row in alerts:
        names[row.alertname] = names.get(row.alertname, 0) + 1
    ranked = sorted(names, key=lambda n: (-names[n], n))
    title = ranked[0] if ranked else "alerts"
    if len(ranked) > 1:
        title += f" and {len(ranked) - 1} more"
    if services:
        title += f" on {', '.join(services[:3])}"
    title += f" ({len(alerts)} alert{'s' if len(alerts) != 1 else ''})"
    return title[:200]


def _services(alerts: Sequence[am.Alert]) -> list[str]:
    found: dict[str, None] = {}
    for row in alerts:
        value = row.labels.get("service") or row.labels.get("namespace")
        if isinstance(value, str) and value.strip():
            found[value.strip().lower()[:100]] = None
    return list(found)


def _runbooks(finder: RunbookFinder | None, alerts: Sequence[am.Alert]) -> list[s.RunbookRef]:
    if finder is None:
        return []
    refs: list[s.RunbookRef] = []
    done: set[str] = set()
    for row in alerts:
        if row.alertname in done or len(done) >= 10:
            continue
        done.add(row.alertname)
        found = finder.find(row.alertname, {str(k): str(v) for k, v in row.annotations.items()})
        if found is None:
            continue
        chunk = found.chunk
        refs.append(
            s.RunbookRef(
                alertname=_s(row.alertname),
                source=chunk.source,
                title=_s(chunk.title),
                section=_s(chunk.section),
                lines=(chunk.line_start, chunk.line_end),
                score=round(found.score, 4),
                found_by=found.found_by,
            )
        )
    return refs


def similar_query(alerts: Sequence[am.Alert], services: list[str]) -> str:
    """What a candidate is about, for the postmortem search: its alert names (CamelCase split),
    each name's first summary, and its services."""
    parts: dict[str, None] = {}
    for row in alerts:
        if len(parts) >= 2 * MAX_SIMILAR_NAMES:
            break
        parts[split_camel(row.alertname)] = None
        summary = row.annotations.get("summary") or row.annotations.get("description")
        if isinstance(summary, str) and summary.strip():
            parts[summary.strip()[:SHOWN_ANNOTATION]] = None
    if services:
        parts["services: " + ", ".join(services[:5])] = None
    return redact("\n".join(parts)).text[:MAX_QUERY]


def _similar(
    finder: RunbookFinder | None, alerts: Sequence[am.Alert], services: list[str]
) -> list[s.SimilarIncident]:
    if finder is None or not alerts:
        return []
    return [
        s.SimilarIncident(
            source=f.chunk.source,
            title=_s(f.chunk.title),
            section=_s(f.chunk.section),
            lines=(f.chunk.line_start, f.chunk.line_end),
            score=round(f.score, 4),
        )
        for f in finder.similar(similar_query(alerts, services), services)
    ]


def _group_view(
    store: IncidentStore,
    rules: RuleSet,
    group: am.AlertGroup,
    alerts: Sequence[am.Alert],
    finder: RunbookFinder | None,
    budget: Budget,
    reopens: dict[int, tuple[str, datetime | None]],
    similar: bool = False,
) -> s.GroupView:
    services = _services(alerts)
    severity, why = suggested_severity(store, rules, alerts)
    firing = sum(1 for a in alerts if a.status == "firing")
    return s.GroupView(
        id=group.id,
        status=group.status,
        title=_s(_title(alerts, services)),
        reason=_s(group.reason),
        rule=group.rule,
        key=_s(group.key),
        candidate=group.status == "candidate",
        suggested_severity=severity,
        severity_from=_s(why),
        services=[_s(x) for x in services],
        firing=firing,
        resolved=len(alerts) - firing,
        first_at=group.first_at,
        last_at=group.last_at,
        alerts=[alert_view(a, budget) for a in alerts],
        runbooks=_runbooks(finder, alerts),
        incident_id=f"{im.ID_PREFIX}{group.incident_number}" if group.incident_number else None,
        dismissed_reason=_s(group.dismissed_reason) if group.dismissed_reason else None,
        reopen=_reopen(group, reopens),
        policy=group.policy,
        similar_incidents=_similar(finder, alerts, services)
        if similar and group.status == "candidate"
        else [],
    )


def _reopen(
    group: am.AlertGroup, reopens: dict[int, tuple[str, datetime | None]]
) -> s.ReopenProposal | None:
    number = group.reopen_number
    if number is None or number not in reopens:
        return None
    status, resolved_at = reopens[number]
    incident_id = f"{im.ID_PREFIX}{number}"
    if status in im.OPEN_STATUSES:
        said = f"{incident_id} has been reopened ({status}); attach the group to it"
    else:
        said = (
            f"these alerts fired again soon after {incident_id} was {status}; they do not join a "
            f"{status} incident: reopen it, declare a new incident, or dismiss"
        )
    return s.ReopenProposal(
        incident_id=incident_id,
        incident_status=status,
        resolved_at=resolved_at,
        reason=_s(said),
    )


def _reopens(
    session: Session, groups: Sequence[am.AlertGroup]
) -> dict[int, tuple[str, datetime | None]]:
    """Incident number -> (status, resolved_at) of the incidents these groups propose to reopen."""
    numbers = {g.reopen_number for g in groups if g.reopen_number is not None}
    if not numbers:
        return {}
    rows = session.execute(
        select(im.Incident.number, im.Incident.status, im.Incident.resolved_at).where(
            im.Incident.number.in_(numbers)
        )
    )
    return {number: (status, resolved_at) for number, status, resolved_at in rows}


def _alerts_by_group(session: Session, ids: list[int]) -> dict[int, list[am.Alert]]:
    out: dict[int, list[am.Alert]] = {i: [] for i in ids}
    for row in session.scalars(
        select(am.Alert).where(am.Alert.group_id.in_(ids)).order_by(am.Alert.starts_at, am.Alert.id)
    ):
        if row.group_id is not None:
            out[row.group_id].append(row)
    return out


def list_groups(
    *,
    store: IncidentStore,
    rules: RuleSet,
    finder: RunbookFinder | None = None,
    status: str | None = None,
    limit: int = 100,
    similar: bool = False,
) -> list[s.GroupView]:
    """Groups, newest activity first; `similar` looks up the similar past incidents of the first
    MAX_SIMILAR_GROUPS candidates (a search each, cached while the knowledge base is unchanged)."""
    query = select(am.AlertGroup).order_by(am.AlertGroup.last_at.desc(), am.AlertGroup.id.desc())
    if status is not None:
        query = query.where(am.AlertGroup.status == status)
    with store.read() as session:
        groups = list(session.scalars(query.limit(limit)))
        by_group = _alerts_by_group(session, [g.id for g in groups])
        reopens = _reopens(session, groups)
    budget = Budget(LIST_BUDGET)
    views = []
    searched = 0
    for g in groups:
        look = similar and g.status == "candidate" and searched < MAX_SIMILAR_GROUPS
        searched += look
        views.append(_group_view(store, rules, g, by_group[g.id], finder, budget, reopens, look))
    return views


def get_group(
    *,
    store: IncidentStore,
    rules: RuleSet,
    group_id: int,
    finder: RunbookFinder | None = None,
    similar: bool = False,
) -> s.GroupView:
    with store.read() as session:
        group = session.get(am.AlertGroup, group_id)
        if group is None:
            raise NotFound(f"no alert group {group_id}", public="alert group not found")
        alerts = _alerts_by_group(session, [group_id])[group_id]
        reopens = _reopens(session, [group])
    return _group_view(store, rules, group, alerts, finder, Budget(LIST_BUDGET), reopens, similar)


def incident_alerts(*, store: IncidentStore, incident_id: str) -> s.IncidentAlerts:
    """The alerts linked to an incident, counted: whether every one has resolved, and when."""
    number = incidents.parse_id(incident_id)
    with store.read() as session:
        if session.get(im.Incident, number) is None:
            raise NotFound(f"no incident {im.ID_PREFIX}{number}", public="incident not found")
        groups = list(
            session.scalars(
                select(am.AlertGroup.id)
                .where(am.AlertGroup.incident_number == number)
                .order_by(am.AlertGroup.id)
            )
        )
        rows = (
            session.execute(
                select(am.Alert.status, am.Alert.ends_at).where(am.Alert.group_id.in_(groups))
            ).all()
            if groups
            else []
        )
    firing = sum(1 for status, _ in rows if status == "firing")
    done = len(rows) > 0 and firing == 0
    ends = [ends_at for _, ends_at in rows if ends_at is not None]
    return s.IncidentAlerts(
        incident_id=f"{im.ID_PREFIX}{number}",
        groups=groups,
        alerts=len(rows),
        firing=firing,
        resolved=len(rows) - firing,
        all_resolved=done,
        last_resolved_at=max(ends) if done and ends else None,
    )

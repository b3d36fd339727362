"""Fill an audience's template from the incident record; optionally let a model rewrite it.

Everything a template can say comes from `DraftContext.values`, built here from the record.
The model sees only the checked template draft (never the record), and may only change tone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from string import Template
from typing import Any

from copilot.assist.compose import parse_json_object
from copilot.errors import ProviderError
from copilot.incidents.severity import Taxonomy
from copilot.llm.base import ChatModel
from copilot.status.checks import Policy, split_sentences
from copilot.status.config import Catalog
from copilot.status.facts import Allowed, figures
from copilot.status.schemas import MAX_BODY, MAX_TITLE, Finding

PHASE_OF = {
    "triage": "investigating",
    "mobilized": "investigating",
    "mitigating": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "closed": "resolved",
}
PHASE_EXEC = {
    "investigating": "investigating; the cause is not known yet.",
    # Replaced below while mitigating with no cause on the timeline (see `cause_known`).
    "identified": "the cause is understood and a fix is in progress.",
    "monitoring": "a fix is in place; we are watching to confirm recovery.",
    "resolved": "resolved.",
}
ROLE_LABELS = (
    ("incident_commander", "Incident commander"),
    ("escalation_lead", "Escalation lead"),
    ("scribe", "Scribe"),
    ("customer_liaison", "Customer liaison"),
)
DONE_KINDS = ("action", "mitigation")
# Event kinds whose text is about the work, not the copilot's own records or earlier updates.
_RECORD_SKIP_KINDS = ("status_update",)
_ETA = re.compile(r"\bETA\b|\bexpect(?:ed|s)? (?:to )?(?:recover|be (?:fixed|resolved|back))", re.I)
_DECISION_NEEDED = re.compile(
    r"\b(?:decision needed|needs? (?:a )?decision|need(?:s|ed)? (?:sign-?off|approval)|"
    r"awaiting (?:approval|sign-?off|a decision)|approve\?|to decide)\b",
    re.I,
)
MAX_LISTED = 10
# An event that says what the cause is ("root cause: ...", "caused by ...", "the cause was ..."),
# not one that says it is still unknown ("root cause is not known yet").
_CAUSE_STATED = re.compile(
    r"\b(?:root[- ]cause|the cause)(?:\s*:|\s+(?:is|was|found|identified|confirmed)\b)"
    r"(?!\s*(?:not\b|still\b|unknown|unclear|tbd|under investigation|\?|$))|\bcaused by\b",
    re.I,
)
# Event kinds that put a cause on the table: a working hypothesis, or a decision taken on one.
CAUSE_KINDS = ("hypothesis", "decision")
CAUSE_IDENTIFIED = "cause identified"
CAUSE_OPEN = "cause under investigation"


def phase_of(status: str) -> str:
    return PHASE_OF.get(status, "investigating")


def cause_known(events: Sequence[Any]) -> bool:
    """Whether the timeline names a cause: a hypothesis, a decision or a stated root cause.

    Mitigating is not enough: a rollback often stops the bleeding before anyone knows why.
    """
    return any(e.kind in CAUSE_KINDS or _CAUSE_STATED.search(e.text) for e in events)


def is_audit(event: Any) -> bool:
    data = getattr(event, "data", None)
    return isinstance(data, dict) and "audit" in data


def record_events(events: Sequence[Any]) -> list[Any]:
    """Events that say what happened: not the copilot's audit notes, earlier updates or
    events a later correction replaced."""
    return [
        e
        for e in events
        if not is_audit(e) and e.kind not in _RECORD_SKIP_KINDS and not e.corrected_by
    ]


def people(incident: Any, events: Sequence[Any]) -> list[str]:
    names = [r.person for r in incident.role_history]
    r = incident.roles
    names += [r.incident_commander or "", r.escalation_lead or "", r.scribe or ""]
    names.append(r.customer_liaison or "")
    names += list(r.responders)
    names += [e.author for e in events if e.author and not is_audit(e)]
    return sorted({n for n in names if n})


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def record_text(incident: Any, events: Sequence[Any], taxonomy: Taxonomy) -> str:
    """The incident record as text: what a draft's figures must come from."""
    level = taxonomy.get(incident.severity)
    lines = [
        incident.id,
        incident.title,
        incident.summary,
        f"{incident.severity} {incident.severity_name} {level.definition}",
        incident.status,
        " ".join(incident.services),
        " ".join(incident.tags),
        incident.customer_impact,
    ]
    for name in ("started_at", "detected_at", "declared_at", "mitigated_at", "resolved_at"):
        lines.append(_iso(getattr(incident, name)))
    for e in record_events(events):
        lines.append(f"{_iso(e.at)} {e.kind} {e.author or ''}: {e.text}")
    return "\n".join(line for line in lines if line)


# -- formatting -------------------------------------------------------------------------------


def fmt_time(value: datetime, now: datetime) -> str:
    """`09:40 UTC`, with the date when it is not today's."""
    clock = f"{value:%H:%M} UTC"
    if value.date() == now.date():
        return clock
    return f"{clock} on {value.day} {value:%B %Y}"


def fmt_duration(seconds: float) -> str:
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    for n, unit in ((days, "day"), (hours, "hour"), (mins, "minute")):
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return " ".join(parts[:2])


def next_update_time(now: datetime, cadence_minutes: int) -> datetime:
    """When the next update is due if this one goes out now, rounded down to a round time."""
    due = (now + timedelta(minutes=cadence_minutes)).replace(second=0, microsecond=0)
    step = 5 if cadence_minutes >= 10 else 1
    rounded = due - timedelta(minutes=due.minute % step)
    return rounded if rounded > now else due


def join_names(names: Sequence[str]) -> str:
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _bullets(lines: Sequence[str], empty: str) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else f"- {empty}"


def _event_line(e: Any, now: datetime, *, with_kind: bool = True) -> str:
    who = f" ({e.author})" if e.author else ""
    kind = f"{e.kind}: " if with_kind else ""
    return f"{fmt_time(e.at, now)} {kind}{' '.join(e.text.split())}{who}"


# -- the context ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunbookRef:
    title: str
    source: str


@dataclass
class DraftContext:
    audience: str
    phase: str
    now: datetime
    components: list[str]
    next_update_by: datetime | None
    values: dict[str, str]
    facts: list[str]
    record: str
    people: list[str]
    services: list[str]
    impact: str
    prescreen: dict[str, list[Finding]] = field(default_factory=dict)

    def allowed(self, extra_facts: Sequence[str] = ()) -> Allowed:
        return Allowed.from_text("\n".join([self.record, *self.facts, *extra_facts]))

    def policy(self, catalog: Catalog, *, screen_instructions: bool = False) -> Policy:
        return Policy(
            audience=self.audience,
            catalog=catalog,
            people=self.people,
            services=self.services,
            allowed=self.allowed(),
            screen_instructions=screen_instructions,
        )


def components_of(services: Sequence[str], catalog: Catalog) -> list[str]:
    out: list[str] = []
    for service in services:
        name = catalog.component_of(service)
        if name and name not in out:
            out.append(name)
    return out


def _screened_impact(text: str, policy: Policy, fallback: str) -> tuple[str, list[Finding]]:
    """The customer impact, clause by clause, with what the audience may not read taken out."""
    findings: list[Finding] = []
    kept: list[str] = []
    for sentence in split_sentences(text):
        clauses = []
        for clause in sentence.split(";"):
            if not clause.strip():
                continue
            clean, found = policy.sentence(clause.strip())
            findings.extend(found)
            if clean and clean.strip(" .;,"):
                clauses.append(clean.strip().rstrip("."))
        if clauses:
            kept.append(_sentence("; ".join(clauses)))
    return (" ".join(kept) if kept else fallback), findings


def build_context(
    *,
    incident: Any,
    events: Sequence[Any],
    audience: str,
    catalog: Catalog,
    taxonomy: Taxonomy,
    now: datetime,
    runbook: RunbookRef | None = None,
    components: Sequence[str] | None = None,
) -> DraftContext:
    """Every value a template may use, and what the draft will be checked against.

    `components`, when given, are the public names of the affected services (the service
    catalog's blast radius); by default each of the incident's services by `catalog`.
    """
    phase = phase_of(incident.status)
    level = taxonomy.get(incident.severity)
    evs = record_events(events)
    names = people(incident, events)
    if components is None:
        components = components_of(incident.services, catalog)
    components = list(components)
    phrase = join_names(components) or "some of our services"
    start = incident.started_at or incident.detected_at or incident.declared_at
    end = incident.mitigated_at or incident.resolved_at
    resolved = phase == "resolved"
    next_by = None if resolved else next_update_time(now, incident.update_cadence_minutes)

    times = {
        "now": fmt_time(now, now),
        "impact_start": fmt_time(start, now),
        "impact_end": fmt_time(end, now) if end else "ongoing",
        "declared": fmt_time(incident.declared_at, now),
        "mitigated": fmt_time(incident.mitigated_at, now) if incident.mitigated_at else "not yet",
        "resolved": fmt_time(incident.resolved_at, now) if incident.resolved_at else "not yet",
        "impact_duration": fmt_duration(((end or now) - start).total_seconds()),
        "next_update": fmt_time(next_by, now) if next_by else "no further updates planned",
        "cadence": fmt_duration(incident.update_cadence_minutes * 60),
    }

    impacts = [e for e in evs if e.kind == "impact"]
    impact_source = incident.customer_impact or (impacts[-1].text if impacts else "")
    hypotheses = [e for e in evs if e.kind == "hypothesis"]
    done = [e for e in evs if e.kind in DONE_KINDS]
    last_decision = max((e.at for e in evs if e.kind == "decision"), default=None)
    # A decision asked for after the last one recorded is still open; none once resolved.
    pending = [
        e
        for e in evs
        if phase != "resolved"
        and _DECISION_NEEDED.search(e.text)
        and (last_decision is None or e.at >= last_decision)
    ]
    etas = [e for e in evs if _ETA.search(e.text)]
    cause = CAUSE_IDENTIFIED if cause_known(evs) else CAUSE_OPEN
    phase_exec = PHASE_EXEC[phase]
    if phase == "identified" and cause == CAUSE_OPEN:
        phase_exec = "a fix is in progress; the cause is still under investigation."

    r = incident.roles
    roles = [f"{label}: {getattr(r, key) or '(unassigned)'}" for key, label in ROLE_LABELS]
    roles.append(f"Responders: {', '.join(r.responders) or '(none)'}")

    next_steps: list[str] = []
    if phase == "investigating":
        next_steps.append(
            "Confirm or rule out the current hypothesis."
            if hypotheses
            else "Record a hypothesis: no cause has been suggested yet."
        )
    elif phase == "identified":
        next_steps.append(
            "Apply the mitigation, confirm impact is falling, then move to monitoring."
        )
    elif phase == "monitoring":
        next_steps.append("Watch for recurrence; resolve the incident if recovery holds.")
    else:
        next_steps.append("Schedule the blameless postmortem and record the action items.")
    if runbook is not None:
        next_steps.append(f"Runbook: {runbook.title} ({runbook.source})")
    next_steps += [f"Decision needed: {' '.join(e.text.split())}" for e in pending]

    policy = Policy(
        audience=audience,
        catalog=catalog,
        people=names,
        services=incident.services,
        allowed=Allowed.from_text(record_text(incident, events, taxonomy)),
    )
    # Record text shown to readers who may not see all of it is screened clause by clause, so
    # one internal detail costs a clause, not the line (and its label) it sits on. What was
    # taken out is kept per placeholder: it is reported only if the template shows it.
    prescreen: dict[str, list[Finding]] = {}
    screened = audience in ("public", "executive")

    def screen(placeholder: str, text: str, fallback: str) -> str:
        if not screened:
            return _sentence(text) if text else fallback
        clean, found = _screened_impact(text, policy, fallback)
        prescreen.setdefault(placeholder, []).extend(found)
        return clean

    generic = f"Some customers may be having problems with {phrase}."
    impact = screen(
        "impact",
        impact_source,
        {"public": generic, "executive": "Not quantified yet."}.get(audience, "Not recorded yet."),
    )
    business = []
    for e in impacts[-3:]:
        if e.text == impact_source:
            continue
        said = screen("business_impact", e.text, "")
        if said:
            business.append(f"{fmt_time(e.at, now)} {said}")

    eta_default = {
        "investigating": "unknown until the cause is confirmed.",
        "identified": "unknown; a fix is in progress.",
        "monitoring": f"service recovered at {times['mitigated']}; closing once it holds.",
        "resolved": "resolved.",
    }[phase]

    values = {
        "incident_id": incident.id,
        "title": incident.title,
        "title_plain": policy.rename(incident.title),
        "summary": incident.summary or "No summary recorded.",
        "severity": incident.severity,
        "severity_name": incident.severity_name,
        "severity_definition": level.definition,
        "status": incident.status,
        "phase": phase,
        "phase_exec": phase_exec,
        "cause": cause,
        "impact": impact,
        "components": phrase,
        "components_cap": phrase[0].upper() + phrase[1:],
        "components_are": "is" if len(components) == 1 else "are",
        "public_name": f"Disruption to {phrase}" if components else "Service disruption",
        "services": ", ".join(incident.services) or "none recorded",
        "ic": r.incident_commander or "(unassigned)",
        "roles": _bullets(roles, "none"),
        "hypothesis": _event_line(hypotheses[-1], now, with_kind=False)
        if hypotheses
        else "none recorded yet.",
        "tried": _bullets(
            [_event_line(e, now) for e in done[-MAX_LISTED:]], "nothing recorded yet"
        ),
        "recent": _bullets([_event_line(e, now) for e in evs[-5:]], "no events yet"),
        "next_steps": _bullets(next_steps, "none"),
        "runbook": f"{runbook.title} ({runbook.source})" if runbook else "none found",
        "last_update": fmt_time(incident.last_status_update_at, now)
        if incident.last_status_update_at
        else "none published yet",
        "business_impact": _bullets(business, "") if business else "",
        "eta": screen("eta", etas[-1].text, eta_default) if etas else eta_default,
        "decisions_needed": " ".join(
            screen("decisions_needed", e.text, "") for e in pending
        ).strip()
        or "none at the moment.",
        **times,
    }
    facts = list(times.values())
    if runbook is not None:
        facts.append(f"{runbook.title} {runbook.source}")
    return DraftContext(
        audience=audience,
        phase=phase,
        now=now,
        components=components,
        next_update_by=next_by,
        values=values,
        facts=facts,
        record=record_text(incident, events, taxonomy),
        people=names,
        services=list(incident.services),
        impact=impact,
        prescreen=prescreen,
    )


# -- required elements ------------------------------------------------------------------------


def missing_elements(ctx: DraftContext, title: str, body: str) -> list[Finding]:
    """What an update must say that this one does not."""
    text = f"{title}\n{body}"
    missing: list[Finding] = []
    if ctx.next_update_by is not None:
        due = f"{ctx.next_update_by:%H:%M}"
        if not any(f.kind == "time" and f.value == due for f in figures(text)):
            missing.append(
                Finding(
                    check="required",
                    kind="next_update",
                    text=f"the next update time ({ctx.values['next_update']})",
                    action="missing",
                )
            )
    if ctx.phase == "resolved" and not re.search(r"\bresolved\b", text, re.I):
        missing.append(
            Finding(
                check="required", kind="resolution", text="that it is resolved", action="missing"
            )
        )
    if ctx.audience in ("public", "executive"):
        for name in ctx.components:
            if name.lower() not in text.lower():
                missing.append(
                    Finding(check="required", kind="component", text=name, action="missing")
                )
    return missing


# -- the model --------------------------------------------------------------------------------


def load_prompt(name: str) -> str:
    return resources.files("copilot.status").joinpath("prompts", name).read_text(encoding="utf-8")


class Rewriter:
    """Ask a chat model to rewrite a checked draft for tone; raise ProviderError on junk."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.name = chat.name
        self._system = load_prompt("rewrite_system.md")
        self._user = Template(load_prompt("rewrite_user.md"))

    def render(self, *, audience: str, phase: str, title: str, body: str) -> str:
        return self._user.substitute(audience=audience, phase=phase, title=title, body=body)

    def rewrite(self, *, audience: str, phase: str, title: str, body: str) -> tuple[str, str]:
        reply = self.chat.complete(
            system=self._system,
            user=self.render(audience=audience, phase=phase, title=title, body=body),
        )
        data = parse_json_object(reply)
        new_title, new_body = data.get("title"), data.get("body")
        if not isinstance(new_title, str) or not isinstance(new_body, str):
            raise ProviderError("the model's rewrite has no 'title' and 'body' strings")
        new_title = " ".join(new_title.split()).lstrip("# ").strip()
        new_body = new_body.strip()
        if not new_title or not new_body:
            raise ProviderError("the model's rewrite is empty")
        if len(new_title) > MAX_TITLE or len(new_body) > MAX_BODY:
            raise ProviderError("the model's rewrite is too long")
        return new_title, new_body

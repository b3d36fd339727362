"""Draft a blameless postmortem from an incident's record, timeline and metrics, and from the
knowledge base: similar past postmortems, recurring patterns and runbook updates.

Keyword-only and HTTP-agnostic. Without a knowledge base (not loaded, or not ingested) the draft is
still complete: the sections that need one say so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import yaml

from copilot.assist.schemas import Guardrails
from copilot.errors import InvalidInput
from copilot.guardrails.redact import redact
from copilot.guardrails.screened import Screened, ours, screened, screened_label
from copilot.incidents import schemas as inc
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.knowledge import past as past_mod
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem import runbooks
from copilot.postmortem import schemas as s
from copilot.postmortem.compose import Drafter
from copilot.postmortem.record import (
    ACTION_KINDS,
    Inputs,
    audit_action,
    fmt_time,
    is_audit,
)
from copilot.postmortem.template import Template, load_template

# A past incident is listed when it matches at least this well in meaning (never below the
# abstain floor) and scores at least this share of the best one. Looser than ask's (0.45 / 0.8):
# a draft is read after the incident, where a related postmortem missed costs more than an
# unrelated one listed; ask's setting lowered hit@1 on the dfds drafts (evals/README.md,
# "Similar incidents").
SIMILAR_FLOOR = 0.30
SIMILAR_RATIO = 0.6
_INCIDENT_ID = re.compile(r"\bINC-(\d+)\b", re.I)
_ORDINALS = (
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)


def shared(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The names of `a` that `b` names too, in `a`'s order and spelling, case aside."""
    lower = {x.lower() for x in b}
    return [x for x in a if x.lower() in lower]


def ordinal(n: int) -> str:
    if n < len(_ORDINALS):
        return _ORDINALS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def incident_query(incident: inc.Incident) -> str:
    """What the incident is about, redacted: the words similar postmortems would share."""
    parts = [incident.title, incident.summary, incident.customer_impact]
    if incident.services:
        parts.append("services: " + ", ".join(incident.services))
    if incident.tags:
        parts.append("tags: " + ", ".join(incident.tags))
    text = redact("\n".join(p for p in parts if p.strip())).text
    return text[: retrieval.MAX_QUERY_CHARS].strip()


def _own_postmortem(title: str, incident_id: str) -> bool:
    return any(f"INC-{m.group(1)}" == incident_id for m in _INCIDENT_ID.finditer(title))


def similar_incidents(
    kb: KnowledgeBase, incident: inc.Incident, *, limit: int
) -> tuple[list[s.SimilarPastIncident], list[str], int]:
    """The closest past postmortems, read; the sources that carried text aimed at an AI; and
    the redactions made in them."""
    query = incident_query(incident)
    if limit <= 0 or not query:
        return [], [], 0
    try:
        hits = retrieval.search(kb=kb, query=query, top_k=max(10, limit * 4), kind="postmortem")
    except InvalidInput:
        return [], [], 0
    threshold = max(kb.settings.abstain_below, SIMILAR_FLOOR)
    out: list[s.SimilarPastIncident] = []
    suspected: list[str] = []
    redactions = 0
    seen: set[str] = set()
    best = next((h.score for h in hits if not _own_postmortem(h.chunk.title, incident.id)), None)
    for hit in hits:
        source = hit.chunk.source
        if source in seen or len(out) >= limit or best is None:
            continue
        seen.add(source)
        if _own_postmortem(hit.chunk.title, incident.id):
            continue  # this incident's own postmortem, ingested earlier
        if not past_mod.close_enough(hit, floor=threshold, ratio=SIMILAR_RATIO, best=best):
            continue
        read = past_mod.read(kb, source)
        if read is None:
            continue
        redactions += read.redactions
        if read.suspected:
            suspected.append(source)
        out.append(
            s.SimilarPastIncident(
                title=screened_label(read.title),
                source=source,
                lines=(hit.chunk.line_start, hit.chunk.line_end),
                score=round(hit.score, 4),
                date=read.day,
                what_happened=screened(read.happened.text if read.happened else ""),
                what_fixed_it=screened(read.fixed[:500]),
                root_cause=_excerpt(read.root_cause),
                contributing_factors=[e for e in map(_excerpt, read.contributing) if e],
                action_items=[e for e in map(_excerpt, read.action_items) if e],
                shared_services=shared(incident.services, read.services),
                shared_tags=shared(incident.tags, read.tags),
            )
        )
    return out, suspected, redactions


def _excerpt(e: past_mod.Excerpt | None) -> s.Excerpt | None:
    return (
        None
        if e is None
        else s.Excerpt(text=screened(e.text), section=screened(e.section), lines=e.lines)
    )


def recurring(
    *, store: IncidentStore, kb: KnowledgeBase | None, incident: inc.Incident
) -> list[s.Recurrence]:
    """Services and tags of this incident that other incidents of the same year share.

    Counted over the incident store (incidents declared that year, up to this one) and the past
    postmortems in the knowledge base dated that year, not after this incident; a postmortem that
    names an incident already counted (its own postmortem, ingested) is not counted twice.
    """
    labels = [("service", n) for n in incident.services] + [("tag", n) for n in incident.tags]
    if not labels:
        return []
    year = incident.declared_at.year
    since = datetime(year, 1, 1, tzinfo=UTC)
    # Up to this incident: "the third this year" counts the ones before it.
    until = incident.declared_at + timedelta(microseconds=1)
    agg = incidents.aggregate_metrics(store=store, since=since, until=until)
    last_day = incident.declared_at.date()
    in_store = {("service", r.name): r.incidents for r in agg.recurring.services} | {
        ("tag", r.name): r.incidents for r in agg.recurring.tags
    }
    documents: list[tuple[str, str, set[str], set[str], set[str]]] = []
    if kb is not None:
        for source, record in sorted(kb.files().items()):
            if record.kind != "postmortem":
                continue
            day, doc_year = past_mod.date_of(record.title, source)
            if doc_year != year or (day is not None and day > last_day):
                continue
            chunks = kb.document_chunks(source)
            if not chunks:
                continue
            named = {f"INC-{m.group(1)}" for m in _INCIDENT_ID.finditer(record.title)}
            documents.append(
                (
                    source,
                    record.title,
                    {x.lower() for x in chunks[0].services},
                    {x.lower() for x in chunks[0].tags},
                    named,
                )
            )
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[str, str]]] = {}
    titles: dict[str, str] = {}
    for label, name in labels:
        others = [i for i in in_store.get((label, name), []) if i != incident.id]
        counted = set(others) | {incident.id}
        docs: list[str] = []
        for source, title, services, tags, named in documents:
            if name.lower() in (services if label == "service" else tags) and not named & counted:
                docs.append(source)
                titles[source] = title
        if others or docs:
            groups.setdefault((tuple(others), tuple(docs)), []).append((label, name))
    out: list[s.Recurrence] = []
    for (other_ids, doc_sources), members in groups.items():
        count = 1 + len(other_ids) + len(doc_sources)
        svc = [n for label, n in members if label == "service"]
        tag_names = [n for label, n in members if label == "tag"]
        involving = []
        if svc:
            plural = "s" if len(svc) > 1 else ""
            involving.append(f"service{plural} " + ", ".join(f"`{n}`" for n in svc))
        if tag_names:
            plural = "s" if len(tag_names) > 1 else ""
            involving.append(f"tag{plural} " + ", ".join(f"`{n}`" for n in tag_names))
        mentions = list(other_ids) + [f"“{titles[d]}” ({d})" for d in doc_sources]
        listed = ", ".join(mentions[:6])
        if len(mentions) > 6:
            listed += f" and {len(mentions) - 6} more"
        text = (
            f"This is the {ordinal(count)} incident in {year} involving {' and '.join(involving)}: "
            f"{listed}, and this one (record: incident store; source: knowledge base)."
        )
        out.append(
            s.Recurrence(
                services=svc,
                tags=tag_names,
                year=year,
                count=count,
                incidents=list(other_ids),
                postmortems=list(doc_sources),
                text=screened(text),
            )
        )
    out.sort(key=lambda r: (-r.count, r.services, r.tags))
    return out


def runbook_updates(
    kb: KnowledgeBase, incident: inc.Incident, events: Sequence[inc.Event]
) -> list[s.RunbookSuggestion]:
    work = [e for e in events if not is_audit(e)]
    # As in the draft: its own audit records are not part of the incident.
    shown = [e for e in events if audit_action(e) != "postmortem"]
    multi_day = len({e.at.date() for e in shown} | {incident.declared_at.date()}) > 1
    actions = [
        (
            e.id,
            fmt_time(e.at) if multi_day else e.at.strftime("%H:%M"),
            redact(e.text).text,
        )
        for e in work
        if e.kind in ACTION_KINDS and not e.corrected_by
    ]
    sources = [
        [str(src) for src in e.data["audit"].get("sources", [])]
        for e in events
        if is_audit(e) and audit_action(e) in ("ask", "status_update")
    ]
    return runbooks.suggest(
        kb,
        actions=actions,
        texts=[redact(e.text).text for e in work],
        audit_sources=sources,
        incident_query=incident_query(incident),
        services=incident.services,
    )


def front_matter(incident: inc.Incident, title: str) -> Screened:
    """YAML front matter that makes the draft ingest as a past postmortem.

    Each value from the incident record is screened as a label on its own, and the YAML around
    them is ours: screened as one text, "services:" and its list were read as two paragraphs
    and a blank line was put between them."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    day = (incident.started_at or incident.detected_at or incident.declared_at).date()
    data = {
        "title": str(screened_label(title)),
        "kind": "postmortem",
        "services": [str(screened_label(x)) for x in incident.services],
        "tags": [str(screened_label(x)) for x in incident.tags],
        "severity": incident.severity,
        "date": day.isoformat(),
        "incident": incident.id,
        "status": "draft",
        "started_at": iso(incident.started_at),
        "detected_at": iso(incident.detected_at),
        "declared_at": iso(incident.declared_at),
        "mitigated_at": iso(incident.mitigated_at),
        "resolved_at": iso(incident.resolved_at),
    }
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    return ours(f"---\n{body}---\n\n")


def draft_postmortem(
    *,
    store: IncidentStore,
    incident_id: str,
    kb: KnowledgeBase | None,
    template: Template | None = None,
    similar: int = 3,
) -> s.PostmortemResponse:
    """Pre-fill a postmortem for one incident (NotFound when there is no such incident)."""
    template = template or load_template()
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    events = incidents.list_events(store=store, incident_id=incident.id)
    metrics = incidents.incident_metrics(store=store, incident_id=incident.id)
    inputs = Inputs(incident=incident, events=events, metrics=metrics, generated_at=store.now())
    inputs.recurring = recurring(store=store, kb=kb, incident=incident)
    if kb is None:
        inputs.knowledge_note = (
            "The knowledge base is not loaded: similar past incidents and the runbook check are "
            "left out of this draft."
        )
    elif not any(f.kind == "postmortem" for f in kb.files().values()) and similar:
        inputs.knowledge_note = "The knowledge base holds no past postmortem to compare with."
    if kb is not None:
        found, suspected, redactions = similar_incidents(kb, incident, limit=similar)
        inputs.similar = found
        inputs.injection_suspected = suspected
        inputs.passage_redactions = redactions
        inputs.runbook_updates = runbook_updates(kb, incident, events)
    drafted = Drafter(inputs).draft()
    markdown = ours(
        front_matter(incident, drafted.title) + screened(template.render(drafted.values))
    )
    headings = template.headings()
    return s.PostmortemResponse(
        incident_id=incident.id,
        title=drafted.title,
        markdown=markdown,
        sections={k: screened(v) for k, v in drafted.sections.items() if k in headings},
        headings=headings,
        metrics=metrics,
        timeline=drafted.timeline,
        similar_incidents=inputs.similar,
        recurring=inputs.recurring,
        runbook_updates=inputs.runbook_updates,
        action_items=drafted.action_items,
        five_whys=drafted.five_whys,
        blameless=drafted.flags,
        open_questions=drafted.questions,
        missing=drafted.missing,
        guardrails=Guardrails(
            redactions=drafted.redactions, injection_suspected=sorted(inputs.injection_suspected)
        ),
        template=template.source,
        generated_at=inputs.generated_at,
    )


def sources_of(response: s.PostmortemResponse) -> list[str]:
    """The passages a draft cites, `source:start-end`, for the audit log."""
    refs = [f"{p.source}:{p.lines[0]}-{p.lines[1]}" for p in response.similar_incidents]
    refs += [
        f"{u.runbook}:{u.lines[0]}-{u.lines[1]}" if u.lines else str(u.runbook)
        for u in response.runbook_updates
        if u.runbook
    ]
    return list(dict.fromkeys(refs))

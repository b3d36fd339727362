"""Answer "what should I do?" from the knowledge base and the incident, verified."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from copilot.assist import schemas as s
from copilot.assist.compose import (
    AskContext,
    ChatComposer,
    Composer,
    Draft,
    ExtractiveComposer,
)
from copilot.errors import ProviderError
from copilot.guardrails.injection import reasons_for, screen_question
from copilot.guardrails.redact import redact
from copilot.guardrails.verify import strip_links, unsupported_details, verify
from copilot.knowledge import past as past_postmortems
from copilot.knowledge import retrieval
from copilot.knowledge.models import Chunk, Hit
from copilot.knowledge.passages import Passage, document_passages, make_passage, untaint
from copilot.knowledge.store import KnowledgeBase
from copilot.security.audit import is_audit_event

log = logging.getLogger(__name__)

# A runbook close behind the best one is used too (its steps are often the fix).
SECOND_DOC_RATIO = 0.85
DONE_KINDS = {"action", "mitigation", "note", "decision"}
# A past incident is listed when it scores at least this share of the best one.
SIMILAR_RATIO = 0.6


def _citation(chunk: Chunk, score: float) -> s.Citation:
    return s.Citation(
        source=chunk.source,
        title=chunk.title,
        section=chunk.section,
        lines=(chunk.line_start, chunk.line_end),
        score=round(score, 4),
    )


def _incident_text(incident: Any, events: Sequence[Any]) -> tuple[str, list[str], int]:
    """The incident as plain text for the composer, the steps done, and redactions made."""
    if incident is None:
        return "", [], 0
    lines = [
        f"id: {incident.id}",
        f"title: {incident.title}",
        f"severity: {incident.severity} ({incident.severity_name})",
        f"status: {incident.status}",
        f"services: {', '.join(incident.services) or 'unknown'}",
    ]
    if incident.summary:
        lines.append(f"summary: {incident.summary}")
    if incident.customer_impact:
        lines.append(f"customer impact: {incident.customer_impact}")
    done: list[str] = []
    for event in events:
        if is_audit_event(event):
            continue  # the copilot's own record of an answer is not something anyone did
        lines.append(f"{event.at:%Y-%m-%d %H:%M}Z {event.kind}: {event.text}")
        if event.kind in DONE_KINDS:
            done.append(event.text)
    redacted = redact("\n".join(lines))
    done_redacted = [redact(d).text for d in done]
    return redacted.text, done_redacted, redacted.total


def _similar_incidents(
    kb: KnowledgeBase, query: str, threshold: float, suspected: set[str]
) -> list[s.SimilarIncident]:
    hits = retrieval.search(kb=kb, query=query, top_k=3, kind="postmortem")
    out: list[s.SimilarIncident] = []
    for hit in hits:
        if hit.similarity is not None and hit.similarity < threshold and not hit.reasons:
            continue
        if hit.score < SIMILAR_RATIO * hits[0].score:
            continue
        chunks = kb.document_chunks(hit.chunk.source)
        passages = document_passages(chunks, score=hit.score)
        if any(p.suspected for p in passages):
            suspected.add(hit.chunk.source)
        # Shared with the postmortem draft (copilot.knowledge.past).
        happened = past_postmortems.what_happened(passages)
        fixed = past_postmortems.what_fixed_it(passages)
        out.append(
            s.SimilarIncident(
                title=hit.chunk.title,
                source=hit.chunk.source,
                what_happened=happened,
                what_fixed_it=fixed[:500],
                lines=(hit.chunk.line_start, hit.chunk.line_end),
                score=round(hit.score, 4),
            )
        )
    return out


def _passages_for(kb: KnowledgeBase, hits: list[Hit]) -> list[Passage]:
    """Every section of the best runbook, and of a second one close behind it."""
    docs: list[Hit] = []
    for hit in hits:
        if hit.chunk.source in {d.chunk.source for d in docs}:
            continue
        if not docs or hit.score >= SECOND_DOC_RATIO * docs[0].score:
            docs.append(hit)
        if len(docs) == 2:
            break
    by_id = {h.chunk.id: h for h in hits}
    passages: list[Passage] = []
    for doc in docs:
        for chunk in kb.document_chunks(doc.chunk.source):
            seen = by_id.get(chunk.id)
            passages.append(
                make_passage(
                    len(passages) + 1,
                    chunk,
                    score=seen.score if seen else doc.score,
                    similarity=seen.similarity if seen else None,
                )
            )
    return passages


def _confidence(top: Hit | None, threshold: float, steps: int) -> float:
    if top is None:
        return 0.0
    similarity = top.similarity if top.similarity is not None else threshold
    base = 1.0 if top.reasons else min(1.0, max(0.0, (similarity - threshold) / (0.7 - threshold)))
    base = 0.3 + 0.7 * base
    return round(base if steps else base * 0.5, 3)


def ask(
    *,
    kb: KnowledgeBase,
    question: str,
    composer: Composer | None = None,
    incident: Any = None,
    events: Sequence[Any] = (),
    top_k: int = 5,
) -> s.AskResponse:
    """Grounded next steps for a question, optionally in the context of an incident."""
    settings = kb.settings
    extractive = ExtractiveComposer()
    composer = composer or extractive
    asked = redact(question.strip())
    incident_text, done, incident_redactions = _incident_text(incident, events)
    guard = s.Guardrails(redactions=asked.total + incident_redactions)
    # A question can carry an attack too: the parts of it addressed to the assistant are
    # neither searched for, nor shown to a model, nor accepted as grounds for a detail.
    screened = screen_question(asked.text)
    question_text = screened.text.strip()
    if screened.suspected:
        guard.blocked.append("instructions in the question to the assistant ignored")
    searchable = question_text or asked.text
    query = searchable if incident is None else f"{searchable}\n{redact(incident.title).text}"
    hits = retrieval.search(
        kb=kb, query=query[: retrieval.MAX_QUERY_CHARS], top_k=10, kind="runbook"
    )
    top = hits[0] if hits else None
    suspected: set[str] = set()
    similar = _similar_incidents(
        kb, query[: retrieval.MAX_QUERY_CHARS], settings.abstain_below, suspected
    )
    weak = top is None or (
        not top.reasons and (top.similarity is None or top.similarity < settings.abstain_below)
    )
    if weak:
        closest = [_citation(h.chunk, h.score) for h in hits[:top_k]]
        guard.injection_suspected = sorted(suspected)
        return s.AskResponse(
            answer=(
                "I don't know: nothing in the knowledge base matches this closely enough to "
                "suggest steps. Escalate to the owning team's on-call, and check the closest "
                "matches listed in citations."
            ),
            steps=[],
            citations=closest,
            similar_incidents=similar,
            confidence=_confidence(top, settings.abstain_below, 0) if top else 0.0,
            abstained=True,
            guardrails=guard,
            provider=extractive.name,
        )

    passages = _passages_for(kb, hits)
    tainted = untaint(passages)
    for p in passages:
        guard.redactions += p.redactions
        if p.suspected:
            suspected.add(p.chunk.source)
    ctx = AskContext(
        question=question_text or "(withheld: the question carried instructions to the assistant)",
        passages=passages,
        incident_text=incident_text,
        done=done,
        max_steps=settings.max_steps,
    )
    allowed = {p.id: p.text for p in passages}
    known_hosts = kb.known_hosts() - tainted
    context = f"{question_text}\n{incident_text}"

    fallback: str | None = None
    draft: Draft | None = None
    verdict = None
    if not isinstance(composer, ExtractiveComposer):
        try:
            draft = composer.compose(ctx)
            verdict = verify(draft.steps, allowed, known_hosts, context=context)
            if not verdict.steps:
                fallback = "the model's answer failed verification"
                guard.blocked.extend(verdict.blocked)
                draft = None
        except ProviderError as exc:
            fallback = str(exc)
            draft = None
    if draft is None or verdict is None:
        draft = extractive.compose(ctx)
        verdict = verify(draft.steps, allowed, known_hosts, context=context)
    guard.blocked.extend(verdict.blocked)

    answer = strip_links(
        draft.answer,
        known_hosts,
        guard.blocked,
        allowed="\n".join(allowed.values()) + "\n" + context,
    )
    invented = unsupported_details(answer, "\n".join(allowed.values()) + "\n" + context)
    if reasons_for(answer) or invented:
        guard.blocked.append(
            "answer text replaced: "
            + ("it carried instructions" if reasons_for(answer) else f"unsupported {invented[:3]}")
        )
        answer = extractive.compose(ctx).answer
    if fallback:
        answer = (
            f"{answer} (Model unavailable or unverifiable: {fallback}; extractive answer shown.)"
        )

    by_id = {p.id: p for p in passages}
    verdict.steps = verdict.steps[: settings.max_steps]
    steps = [
        s.Step(
            text=v.text,
            command=v.command,
            requires_approval=v.requires_approval,
            citations=[_citation(by_id[c].chunk, by_id[c].score) for c in v.citations],
        )
        for v in verdict.steps
    ]
    cited: dict[str, s.Citation] = {}
    for step in steps:
        for c in step.citations:
            cited.setdefault(f"{c.source}:{c.lines[0]}", c)
    for h in hits[:top_k]:
        cited.setdefault(f"{h.chunk.source}:{h.chunk.line_start}", _citation(h.chunk, h.score))
    guard.injection_suspected = sorted(suspected)
    guard.blocked = list(dict.fromkeys(guard.blocked))
    return s.AskResponse(
        answer=answer,
        steps=steps,
        citations=list(cited.values()),
        similar_incidents=similar,
        confidence=_confidence(top, settings.abstain_below, len(steps)),
        abstained=False,
        guardrails=guard,
        provider=composer.name if fallback is None else extractive.name,
        fallback=fallback,
        skipped_done=draft.skipped_done,
    )


def composer_for(chat: Any) -> Composer:
    return ExtractiveComposer() if chat is None else ChatComposer(chat)

"""Answer "what should I do?" from the knowledge base and the incident, verified."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from copilot.assist import done as done_mod
from copilot.assist import schemas as s
from copilot.assist import steps as step_mod
from copilot.assist.compose import (
    AskContext,
    ChatComposer,
    Composer,
    Draft,
    ExtractiveComposer,
)
from copilot.catalog import lookup as catalog
from copilot.db import Database
from copilot.errors import ProviderError
from copilot.guardrails.injection import reasons_for, screen_question
from copilot.guardrails.redact import redact
from copilot.guardrails.screened import Screened, screen, screened, screened_label
from copilot.guardrails.verify import strip_links, unsupported_details, verify
from copilot.knowledge import past as past_postmortems
from copilot.knowledge import retrieval
from copilot.knowledge.links import defers, linked_sources
from copilot.knowledge.models import Chunk, Hit
from copilot.knowledge.passages import (
    Passage,
    document_passages,
    make_passage,
    merge_windows,
    untaint,
)
from copilot.knowledge.schemas import NearTwinsOut, corrected_note, twin_note
from copilot.knowledge.sections import query_intent
from copilot.knowledge.store import KnowledgeBase
from copilot.security.audit import is_audit_event

log = logging.getLogger(__name__)

# A runbook close behind the best one is used too (its steps are often the fix).
SECOND_DOC_RATIO = 0.85
# A second runbook within this much of the best one's retrieval score (about 1.0-1.4 for a good
# match) is a close call the retriever cannot settle: its best steps get room of their own, as
# an undecided near twin's do. Decided on the dev lines (evals/README.md, "Close calls").
CLOSE_CALL = 0.05
DONE_KINDS = {"action", "mitigation", "note", "decision"}
# A past incident is listed when its postmortem names the alert or title the question names, or
# when it matches the question at least this well in meaning (`Hit.match`, never below the
# abstain floor) ...
SIMILAR_FLOOR = 0.45
# ... and scores at least this share of the best one. Decided on the even lines of the blind
# similar-incident set and the dfds history questions (`python -m evals.similar`; evals/README.md,
# "Similar incidents"): at 0.30 and 0.6 a past incident was shown for 12 of 13 questions no
# postmortem is about, and 2 of 3 incidents shown were not the one.
SIMILAR_RATIO = 0.8
# What an answer to "have we seen this before?" opens with when no postmortem is close enough.
NO_PAST_INCIDENT = "No past incident in the knowledge base matches this closely."


def _citation(chunk: Chunk, score: float) -> s.Citation:
    return s.Citation(
        source=chunk.source,
        title=screened_label(chunk.title),
        section=screened_label(chunk.section),
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
            done.append(done_mod.timeline_entry(event.at, event.kind, event.text))
    redacted = redact("\n".join(lines))
    done_redacted = [redact(d).text for d in done]
    return redacted.text, done_redacted, redacted.total


def _similar_incidents(
    kb: KnowledgeBase, query: str, threshold: float, suspected: set[str]
) -> list[s.SimilarIncident]:
    """One entry per past postmortem: what happened and what fixed it, screened whole sentences
    with the lines they came from."""
    hits = retrieval.search(kb=kb, query=query, top_k=6, kind="postmortem")
    out: list[s.SimilarIncident] = []
    for hit in hits:
        if any(entry.source == hit.chunk.source for entry in out) or len(out) == 3:
            continue
        if not past_postmortems.close_enough(
            hit, floor=threshold, ratio=SIMILAR_RATIO, best=hits[0].score
        ):
            continue
        passages = document_passages(kb.document_chunks(hit.chunk.source), score=hit.score)
        if any(p.suspected for p in passages):
            suspected.add(hit.chunk.source)
        happened = past_postmortems.happened_excerpt(passages)
        fixed = past_postmortems.fixed_excerpt(passages)
        out.append(
            s.SimilarIncident(
                title=screened_label(hit.chunk.title),
                source=hit.chunk.source,
                what_happened=screened(happened.text if happened else "", strict=True),
                what_fixed_it=screened(
                    fixed.text if fixed else past_postmortems.NOT_STATED, strict=True
                ),
                lines=(hit.chunk.line_start, hit.chunk.line_end),
                happened_lines=happened.lines if happened else None,
                fixed_lines=fixed.lines if fixed else None,
                score=round(hit.score, 4),
            )
        )
    return out


def _history_lead(similar: Sequence[s.SimilarIncident]) -> str:
    """The first sentence of an answer to "have we seen this before?"."""
    if not similar:
        return NO_PAST_INCIDENT
    first = similar[0]
    named = "; ".join(f"{inc.title} ({inc.source})" for inc in similar)
    lead = f"Past incidents like this: {named}."
    if first.what_fixed_it and first.what_fixed_it != past_postmortems.NOT_STATED:
        lead += f" What fixed {first.title}: {first.what_fixed_it}"
    return lead if lead.endswith((".", "!", "?")) else f"{lead}."


def _owners_lead(found: catalog.AskContext, named: Sequence[str]) -> str:
    """The first sentence of an answer to "who owns X": the owning team of each service the
    question names (else of the incident's), and whom to page first, as the catalog says."""
    said = []
    asked = [c for c in found.affected if c.name in named] or found.affected
    for c in asked:
        if c.owner is None:
            said.append(f"the catalog names no owner for {c.title} ({c.name})")
            continue
        first = c.owner.escalation or (c.owner.contacts[0] if c.owner.contacts else None)
        page = f", first contact {first}" if first else ""
        said.append(f"{c.title} ({c.name}) is owned by {c.owner.name}{page}")
    lead = "; ".join(said)
    return f"{lead[:1].upper()}{lead[1:]}." if lead else ""


def _document_passages(
    kb: KnowledgeBase, source: str, score: float, by_section: dict[tuple[str, str], Hit], n: int
) -> list[Passage]:
    out: list[Passage] = []
    for chunk in merge_windows(kb.document_chunks(source)):
        seen = by_section.get((chunk.source, chunk.section))
        out.append(
            make_passage(
                n + len(out) + 1,
                chunk,
                score=seen.score if seen else score,
                similarity=seen.similarity if seen else None,
            )
        )
    return out


def _close_second(hits: list[Hit]) -> str | None:
    """The second runbook (ask retrieves runbooks only), when it scores within CLOSE_CALL of
    the first."""
    if not hits:
        return None
    first = hits[0]
    for hit in hits[1:]:
        if hit.chunk.source != first.chunk.source:
            return hit.chunk.source if first.score - hit.score < CLOSE_CALL else None
    return None


def _passages_for(kb: KnowledgeBase, hits: list[Hit], twin: str | None = None) -> list[Passage]:
    """Every section of the best runbook, and of a second one close behind it (always of its
    near twin, `twin`); the runbooks they hand their steps to ("See [X](x.md) for mitigation");
    and, when the best runbook has no steps at all (a stub), the next one."""
    docs: list[Hit] = []
    for hit in hits:
        if hit.chunk.source in {d.chunk.source for d in docs}:
            continue
        if not docs or hit.score >= SECOND_DOC_RATIO * docs[0].score or hit.chunk.source == twin:
            docs.append(hit)
        if len(docs) == 2:
            break
    by_section: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        by_section.setdefault((hit.chunk.source, hit.chunk.section), hit)
    passages: list[Passage] = []
    for doc in docs:
        passages += _document_passages(kb, doc.chunk.source, doc.score, by_section, len(passages))
    best = docs[0].chunk.source
    own = [p for p in passages if p.chunk.source == best]
    # A section that defers to another runbook brings that runbook's action sections.
    followed = {p.chunk.source for p in passages}
    for p in own:
        if p.phase not in ("diagnose", "mitigate") or not defers(p.text):
            continue
        for _, target in linked_sources(kb, best, p.text):
            if target in followed:
                continue
            followed.add(target)
            passages += [
                q
                for q in _document_passages(kb, target, docs[0].score * 0.9, {}, len(passages))
                if q.phase is not None
            ]
    if not any(step_mod.extract(p) for p in own):
        for hit in hits:
            if hit.chunk.source not in followed:
                passages += _document_passages(
                    kb, hit.chunk.source, hit.score, by_section, len(passages)
                )
                break
    return passages


def _catalog(db: Database | None, incident: Any, named: Sequence[str]) -> catalog.AskContext | None:
    """The catalog's view of the incident's services and of the services the question names
    (`named`: catalog.names_in); None without a catalog or when it knows none of them."""
    if db is None:
        return None
    services = list(getattr(incident, "services", None) or []) if incident is not None else []
    if not services and not named:
        return None
    found = catalog.ask_context(db, [*services, *named])
    return found if found.affected else None


def _catalog_view(
    kb: KnowledgeBase, found: catalog.AskContext, cited: Collection[str] = ()
) -> s.CatalogContext:
    """Owners, blast radius and upstream for the answer; each upstream dependency with the
    runbook that best matches its own name and description among the runbooks whose `services`
    front matter names it, other than the runbooks the answer cites (`cited`: their sources)."""

    def shown(text: str) -> Screened:
        # The catalog screened these already (a team's address on purpose as it is written:
        # screening it again would redact the email address that is the point of it).
        return text if isinstance(text, Screened) else screened(text)

    def view(c: catalog.Contactable, runbook: s.Citation | None = None) -> s.CatalogService:
        owner = (
            s.CatalogOwner(
                ref=c.owner.ref,
                name=shown(c.owner.name),
                contacts=[shown(x) for x in c.owner.contacts],
                escalation=shown(c.owner.escalation) if c.owner.escalation else None,
            )
            if c.owner is not None
            else None
        )
        return s.CatalogService(
            ref=c.ref,
            name=c.name,
            title=shown(c.title),
            owner=owner,
            path=c.path,
            user_facing=c.public_name is not None,
            public_name=shown(c.public_name) if c.public_name else None,
            runbook=runbook,
        )

    def runbook_of(c: catalog.Contactable) -> s.Citation | None:
        # The upstream's own words, not the question's: the question already found the
        # answer's runbook, and a runbook that names both services would be found again.
        query = redact(" ".join([c.title, c.name, c.description])).text
        hits = retrieval.search(
            kb=kb,
            query=query[: retrieval.MAX_QUERY_CHARS],
            top_k=10,
            kind="runbook",
            services=[c.name],
        )
        for hit in hits:
            if hit.chunk.source not in cited:
                return _citation(hit.chunk, hit.score)
        return None

    return s.CatalogContext(
        affected=[view(c) for c in found.affected],
        dependents=[view(c) for c in found.dependents],
        dependents_total=found.dependents_total,
        unmapped=[shown(n) for n in found.unmapped],
        upstream=[view(c, runbook_of(c)) for c in found.upstream],
    )


def _confidence(top: Hit | None, threshold: float, steps: int) -> float:
    if top is None:
        return 0.0
    similarity = top.match if top.match is not None else threshold
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
    db: Database | None = None,
    max_steps: int | None = None,
) -> s.AskResponse:
    """Grounded next steps for a question, optionally in the context of an incident.

    `max_steps` overrides the configured cap for this answer (a responder who read "14 more
    step(s)" asks again for them all).

    With `db` (the copilot database) and a service catalog in it, the answer also names the
    owners, dependents and upstream dependencies of the incident's (or the question's) services.
    """
    settings = kb.settings
    cap = max_steps or settings.max_steps
    extractive = ExtractiveComposer()
    composer = composer or extractive
    asked = redact(question.strip())
    incident_text, done, incident_redactions = _incident_text(incident, events)
    guard = s.Guardrails(redactions=asked.total + incident_redactions)
    # A question can carry an attack too: the parts of it addressed to the assistant are
    # neither searched for, nor shown to a model, nor accepted as grounds for a detail.
    question_screen = screen_question(asked.text)
    question_text = question_screen.text.strip()
    if question_screen.suspected:
        guard.blocked.append("instructions in the question to the assistant ignored")
    searchable = question_text or asked.text
    query = searchable if incident is None else f"{searchable}\n{redact(incident.title).text}"
    named = catalog.names_in(db, question_text) if db is not None else []
    found = _catalog(db, incident, named)
    # Runbooks of the incident's services and their upstream come a little ahead (a tie-breaker;
    # measured by evals.ask_services).
    retrieved = retrieval.retrieve(
        kb=kb,
        query=query[: retrieval.MAX_QUERY_CHARS],
        top_k=10,
        kind="runbook",
        prefer=found.services() if found else (),
    )
    # Keyword search only when the vector store does not answer: the answer says so.
    hits, degraded = retrieved.hits, retrieved.degraded
    top = hits[0] if hits else None
    suspected: set[str] = set()
    similar = _similar_incidents(
        kb,
        query[: retrieval.MAX_QUERY_CHARS],
        max(settings.abstain_below, SIMILAR_FLOOR),
        suspected,
    )
    weak = top is None or (
        not top.reasons and (top.match is None or top.match < settings.abstain_below)
    )
    if weak:
        closest = [_citation(h.chunk, h.score) for h in hits[:top_k]]
        guard.injection_suspected = sorted(suspected)
        catalog_context = _catalog_view(kb, found) if found else None
        return s.AskResponse(
            # The slips are the question's words: screened like the question.
            answer=screened(
                " ".join(
                    part
                    for part in (
                        corrected_note(retrieved.corrected),
                        "I don't know: nothing in the knowledge base matches this closely enough "
                        "to suggest steps. Escalate to the owning team's on-call, and check the "
                        "closest matches listed in citations.",
                    )
                    if part
                ),
                strict=True,
            ),
            steps=[],
            citations=closest,
            similar_incidents=similar,
            confidence=_confidence(top, settings.abstain_below, 0) if top else 0.0,
            abstained=True,
            guardrails=guard,
            provider=extractive.name,
            catalog=catalog_context,
            degraded=degraded,
            corrected=retrieved.corrected,
        )

    # Near twins the question's own words do not tell apart: the steps of both are read
    # (see AskContext.twin).
    twin = (
        retrieved.twins.other.source
        if retrieved.twins is not None and not retrieved.twins.decided
        else None
    )
    close = _close_second(hits) if retrieved.twins is None else None
    twin = twin or close
    passages = _passages_for(kb, hits, twin)
    tainted = untaint(passages)
    for p in passages:
        guard.redactions += p.redactions
        if p.suspected:
            suspected.add(p.chunk.source)
            guard.removed.append(
                s.Removal(
                    source=p.chunk.source,
                    section=screened_label(p.chunk.section),
                    lines=(p.chunk.line_start, p.chunk.line_end),
                    reasons=p.reasons,
                )
            )
    ctx = AskContext(
        question=question_text or "(withheld: the question carried instructions to the assistant)",
        passages=passages,
        incident_text=incident_text,
        done=done,
        max_steps=cap,
        intent=query_intent(question_text, history=False),
        twin=twin,
        twin_steps=cap // 2 if twin else 0,
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

    # The extractive answer is our template around the runbook's own first sentence; a model's
    # answer must hold nothing the sources do not (an instruction, a name, a link).
    answer = draft.answer
    if draft.provider != extractive.name:
        grounds = "\n".join(allowed.values()) + "\n" + context
        answer = strip_links(answer, known_hosts, guard.blocked, allowed=grounds)
        invented = unsupported_details(answer, grounds)
        if reasons_for(answer) or invented:
            guard.blocked.append(
                "model's answer withheld: "
                + (
                    "it carried instructions"
                    if reasons_for(answer)
                    else f"unsupported {invented[:3]}"
                )
            )
            answer = extractive.compose(ctx).answer
    if fallback:
        answer = (
            f"{answer} (Model unavailable or unverifiable: {fallback}; extractive answer shown.)"
        )
    limit = cap + ctx.twin_steps
    by_id = {p.id: p for p in passages}
    both = any(
        by_id[c].chunk.source == ctx.twin for v in verdict.steps[:limit] for c in v.citations
    )
    if retrieved.twins is not None:
        answer = f"{answer} {twin_note(retrieved.twins)}"
        if both:
            answer = f"{answer} Steps of both are listed, each citing its runbook."
    elif close is not None and both:
        title = next(p.chunk.title for p in passages if p.chunk.source == close)
        answer = (
            f"{answer} {title} matches about as well; its first steps are listed too, "
            "each citing it."
        )
    # "Have we seen this before?" is answered first, with the past incidents that match (or
    # that none does, when the question asks outright); the runbook's steps follow. (When no
    # runbook matches, the answer stays "I don't know": a postmortem alone is a weaker match
    # than it looks.)
    if retrieval.wanted_kind(question_text) == "postmortem" and (
        similar or retrieval.asks_about_history(question_text)
    ):
        answer = f"{_history_lead(similar)} {answer}"
    # "Who owns payments?" is answered first with the owner the catalog names.
    if found and catalog.OWNERSHIP.search(question_text):
        answer = f"{_owners_lead(found, named)} {answer}".strip()
    # A typing slip read as another word is said first: the reader checks it before the rest.
    slips = corrected_note(retrieved.corrected)
    if slips:
        answer = f"{slips} {answer}"
    answer_screen = screen(answer, strict=True)
    if answer_screen.removed:
        guard.blocked.append("instructions removed from the answer")
    if answer_screen.severe:
        guard.blocked.append(
            f"severe command not repeated in the answer: {answer_screen.severe[0]}"
        )

    steps = []
    for v in verdict.steps[:limit]:
        text, command = screen(v.text, strict=True), None
        # A caution ("Never run `FLUSHALL` ...") is read, not run: no command to copy (whoever
        # proposed one), nothing to approve.
        caution = step_mod.forbids(v.text)
        if v.command is not None and not caution:
            command = screen(v.command, strict=True)
            if command.removed:
                guard.blocked.append(f"step withheld: {command.reasons[0]}")
                continue
        if text.removed:
            guard.blocked.append(f"part of a step withheld: {text.reasons[0]}")
        severe = text.severe + (command.severe if command else [])
        if severe:
            # Shown as a step (the runbook has it), its severe command left in the runbook.
            guard.blocked.append(f"severe command not repeated in a step: {severe[0]}")
        approvals = text.approvals + (command.approvals if command else []) + severe
        shown = text.text
        if command is not None and command.severe:
            shown = screened(f"{text.text} {command.text}", strict=True)
        steps.append(
            s.Step(
                text=shown,
                command=command.text if command and not command.severe else None,
                requires_approval=not caution and (v.requires_approval or bool(approvals)),
                approval_reason=approvals[0] if approvals and not caution else None,
                citations=[_citation(by_id[c].chunk, by_id[c].score) for c in v.citations],
                caution=caution,
            )
        )
    cited: dict[str, s.Citation] = {}
    for step in steps:
        for c in step.citations:
            cited.setdefault(f"{c.source}:{c.lines[0]}", c)
    # The runbooks the steps come from; the other citations are only the closest matches.
    answered_from = {c.source for c in cited.values()}
    for h in hits[:top_k]:
        cited.setdefault(f"{h.chunk.source}:{h.chunk.line_start}", _citation(h.chunk, h.score))
    guard.injection_suspected = sorted(suspected)
    guard.blocked = list(dict.fromkeys(guard.blocked))
    catalog_context = _catalog_view(kb, found, answered_from) if found else None
    return s.AskResponse(
        answer=answer_screen.text,
        steps=steps,
        citations=list(cited.values()),
        similar_incidents=similar,
        confidence=_confidence(top, settings.abstain_below, len(steps)),
        abstained=False,
        guardrails=guard,
        provider=composer.name if fallback is None else extractive.name,
        fallback=fallback,
        skipped_done=draft.skipped_done,
        done=[
            s.DoneStep(text=screened(t), done_by=screened(d))
            for t, d in zip(draft.skipped_done, draft.done_by, strict=False)
        ],
        more_steps=draft.more,
        catalog=catalog_context,
        degraded=degraded,
        near_twins=NearTwinsOut.build(retrieved.twins),
        corrected=retrieved.corrected,
    )


def composer_for(chat: Any) -> Composer:
    return ExtractiveComposer() if chat is None else ChatComposer(chat)

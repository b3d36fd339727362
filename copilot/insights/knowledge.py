"""The knowledge-base figures: runbooks cited and not used, steps no runbook has, citations.

A responder's step ("action" and "mitigation" entries on the timeline) is *in a runbook* when one
runbook section both says most of it (at least `HAS_WORDS` of the step's content words, stemmed
as the postmortem pre-fill does) and reads like it (cosine similarity of the sentence vectors at
least `HAS_SIMILARITY`). The two thresholds were decided on the dev half of a labelled set of
steps and checked on the other half (`python -m evals.runbook_gaps`; evals/README.md).

- Steps no runbook has: the steps in the period that no runbook section has.
- Runbooks cited but not mitigating: a runbook is cited in an incident when a copilot answer
  during it cited the runbook (the audit log) or the timeline names it (its title or file name, as
  the postmortem pre-fill finds the runbooks in play); it did not mitigate when the incident
  ended (mitigated or resolved) and none of its steps that helped is one of that runbook's steps.
  Steps the timeline records as having had no effect are not counted as help.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from copilot.guardrails.screened import ours, screened
from copilot.incidents.models import Event, Incident
from copilot.insights import schemas as s
from copilot.lru import LRUCache

# Decided on the dev half of evals/datasets/runbook_gaps/actions.jsonl (evals/README.md).
HAS_WORDS = 0.5
HAS_SIMILARITY = 0.2
ACTION_KINDS = ("action", "mitigation")
# Bounds on the work per report: the most recent steps and incidents of the period.
MAX_STEPS = 200
MAX_INCIDENTS = 100
SHOWN = 10

GAPS_NOTE = (
    "Steps responders took (action and mitigation entries on the timeline) that no runbook "
    "section has: none says most of the step's words and reads like it (thresholds decided on a "
    "labelled set, evals/README.md). Read them as candidates for a runbook update, not as faults."
)
CITED_NOTE = (
    "Runbooks a copilot answer cited during an incident, or that its timeline names, where the "
    "incident ended without any helping step from that runbook. n counts (incident, runbook) "
    "pairs over ended incidents."
)

_REF = re.compile(r":\d+-\d+$")
_TIME_AS_WRITTEN = re.compile(r"^\[time as written: [^\]]*\]\s*")
# An entry that says its step did not help is not a mitigation by that step.
_NO_EFFECT = re.compile(
    r"\b(?:no effect|without effect|did(?: not|n't) (?:help|work|fix|change|resolve)|"
    r"no improvement|not effective|ineffective|made (?:it|things) worse|had no impact)\b",
    re.I,
)


def step_text(text: str) -> str:
    """The step an entry records, without an importer's note on how its time was written."""
    return " ".join(_TIME_AS_WRITTEN.sub("", text).split())


def had_no_effect(text: str) -> bool:
    return bool(_NO_EFFECT.search(text))


@dataclass
class Match:
    """The runbook sections closest to one step, and which runbooks have it."""

    text: str
    has: bool
    sources: set[str] = field(default_factory=set)
    closest: tuple[str, str] | None = None  # (source, section)
    similarity: float | None = None
    overlap: float = 0.0


class RunbookSteps:
    """Every runbook section of a knowledge base with its vector and content words."""

    def __init__(self, kb: Any) -> None:
        from copilot.postmortem.runbooks import words

        self._words = words
        self.kb = kb
        self.runbooks = sorted(src for src, f in kb.files().items() if f.kind == "runbook")
        chunks = [c for src in self.runbooks for c in kb.document_chunks(src)]
        vectors = kb.vectors_for([c.id for c in chunks])
        self.chunks = [c for c in chunks if c.id in vectors]
        self.terms = [frozenset(words(c.text)) for c in self.chunks]
        matrix = np.asarray([vectors[c.id] for c in self.chunks], dtype=np.float32)
        if len(self.chunks):
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        self.matrix = matrix

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(similarity, word share) of every text against every section: two len(texts) x
        sections arrays."""
        cleaned = [step_text(t) for t in texts]
        shape = (len(cleaned), len(self.chunks))
        if not cleaned or not self.chunks:
            return np.zeros(shape), np.zeros(shape)
        vectors = _vectors(self.kb.embedder, cleaned)
        similarity = vectors @ self.matrix.T
        overlap = np.zeros(shape)
        for i, text in enumerate(cleaned):
            wanted = self._words(text)
            if wanted:
                overlap[i] = [len(wanted & terms) / len(wanted) for terms in self.terms]
        return similarity, overlap

    def match(
        self,
        texts: Sequence[str],
        *,
        words: float = HAS_WORDS,
        similarity: float = HAS_SIMILARITY,
    ) -> list[Match]:
        sims, overlaps = self.scores(texts)
        out = []
        for i, text in enumerate(texts):
            if not self.chunks:
                out.append(Match(text, False))
                continue
            has = (overlaps[i] >= words) & (sims[i] >= similarity)
            # The closest section: one that has the step, else the one most alike.
            best = int(np.argmax(np.where(has, sims[i] + 10.0, sims[i])))
            chunk = self.chunks[best]
            out.append(
                Match(
                    text,
                    bool(has.any()),
                    {self.chunks[j].source for j in np.flatnonzero(has)},
                    (chunk.source, chunk.section),
                    round(float(sims[i][best]), 3),
                    round(float(overlaps[i][best]), 3),
                )
            )
        return out


# Step vectors by embedder, kept between reports: a page reload embeds only new entries.
_CACHE: weakref.WeakKeyDictionary[Any, LRUCache[str, np.ndarray]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 20_000


def _vectors(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of `texts`, the ones not seen before embedded in one batch."""
    unique = list(dict.fromkeys(texts))
    with _CACHE_LOCK:
        cache = _CACHE.setdefault(embedder, LRUCache(CACHE_SIZE))
    known = cache.found(unique)
    missing = [t for t in unique if t not in known]
    if missing:
        made = np.asarray(embedder.embed(missing), dtype=np.float32)
        made /= np.maximum(np.linalg.norm(made, axis=1, keepdims=True), 1e-12)
        known.update(zip(missing, made, strict=True))
        cache.keep(zip(missing, made, strict=True))
    return np.stack([known[t] for t in texts])


def _audit_citations(
    session: Session, since: str, until: str
) -> tuple[int, Counter[str], dict[str, list[list[str]]]]:
    """Outputs in the period, citations per document, and each incident's cited passages."""
    from copilot.security.db import audit_log

    cited: Counter[str] = Counter()
    by_incident: dict[str, list[list[str]]] = defaultdict(list)
    outputs = 0
    for sources, incident in session.execute(
        select(audit_log.c.sources, audit_log.c.incident_id).where(
            audit_log.c.at >= since, audit_log.c.at < until
        )
    ):
        outputs += 1
        try:
            refs = [str(r) for r in json.loads(sources)]
        except (ValueError, TypeError):
            continue
        for doc in {_REF.sub("", r) for r in refs}:
            cited[doc] += 1
        if incident:
            by_incident[str(incident)].append(refs)
    return outputs, cited, by_incident


def figures(
    session: Session,
    *,
    since: Any,
    until: Any,
    incidents: Any,
    runbooks: Sequence[str] | None,
    kb: Any = None,
    top: int = 10,
) -> s.KnowledgeFigures:
    """The knowledge-base figures of the incidents `incidents` (a SELECT of their numbers).

    Without `kb` (no knowledge base loaded) only the citation counts are given.
    """
    outputs, cited, by_incident = _audit_citations(
        session, since.isoformat(timespec="seconds"), until.isoformat(timespec="seconds")
    )
    never = None if runbooks is None else sorted(set(runbooks) - set(cited))
    out = s.KnowledgeFigures(
        outputs=outputs,
        most_cited=[
            s.RunbookCount(source=src, citations=n)
            for src, n in sorted(cited.items(), key=lambda x: (-x[1], x[0]))[:top]
        ],
        never_cited=never,
    )
    if kb is None:
        return out
    steps = CachedMatches(RunbookSteps(kb))
    latest, total = _latest_steps(session, incidents)
    ended, entries = _ended(session, incidents)
    # Every step text of both figures matched in one batch.
    steps.prepare(
        [t for _, t in latest]
        + [t for rows in entries.values() for k, t in rows if k in ACTION_KINDS]
    )
    out.steps_no_runbook_has = _gaps(steps, latest, total)
    out.cited_not_mitigating = _cited_not_mitigating(steps, ended, entries, by_incident)
    return out


class CachedMatches:
    """`RunbookSteps.match` with each distinct text matched once per report."""

    def __init__(self, steps: RunbookSteps) -> None:
        self.steps = steps
        self.kb = steps.kb
        self._done: dict[str, Match] = {}

    def prepare(self, texts: Sequence[str]) -> None:
        new = [t for t in dict.fromkeys(texts) if t not in self._done]
        self._done.update(zip(new, self.steps.match(new), strict=True))

    def match(self, texts: Sequence[str]) -> list[Match]:
        self.prepare(texts)
        return [self._done[t] for t in texts]


def _latest_steps(session: Session, incidents: Any) -> tuple[list[tuple[int, str]], int]:
    where = and_(Event.kind.in_(ACTION_KINDS), Event.incident_number.in_(incidents))
    total = session.scalar(select(func.count()).select_from(Event).where(where)) or 0
    rows = session.execute(
        select(Event.incident_number, Event.text)
        .where(where)
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(MAX_STEPS)
    ).all()
    return [(int(n), str(t)) for n, t in rows if not had_no_effect(t)], int(total)


def _ended(session: Session, incidents: Any) -> tuple[list[int], dict[int, list[tuple[str, str]]]]:
    """The latest ended incidents, and their timeline entries (kind, text) in order."""
    ended = list(
        session.scalars(
            select(Incident.number)
            .where(
                Incident.number.in_(incidents),
                or_(Incident.mitigated_at.is_not(None), Incident.resolved_at.is_not(None)),
            )
            .order_by(Incident.declared_at.desc())
            .limit(MAX_INCIDENTS)
        )
    )
    texts: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for number, kind, text in session.execute(
        select(Event.incident_number, Event.kind, Event.text)
        .where(Event.incident_number.in_(ended))
        .order_by(Event.at, Event.id)
    ):
        texts[number].append((kind, text))
    return ended, texts


def _gaps(steps: CachedMatches, helped: list[tuple[int, str]], total: int) -> s.StepGaps:
    matches = steps.match([t for _, t in helped])
    gaps = [(n, m) for (n, _), m in zip(helped, matches, strict=True) if not m.has]
    return s.StepGaps(
        note=ours(GAPS_NOTE),
        n=len(helped),
        entries=total,
        gaps=len(gaps),
        share=round(len(gaps) / len(helped), 4) if helped else None,
        steps=[
            s.GapStep(
                incident_id=f"INC-{n}",
                text=screened(step_text(m.text)[:500]),
                closest=screened(f"{m.closest[0]} § {m.closest[1]}") if m.closest else None,
                similarity=m.similarity,
            )
            for n, m in gaps[:SHOWN]
        ],
    )


def _cited_not_mitigating(
    steps: CachedMatches,
    ended: list[int],
    texts: dict[int, list[tuple[str, str]]],
    audit: dict[str, list[list[str]]],
) -> s.CitedNotMitigating:
    from copilot.postmortem.runbooks import runbooks_named

    per_runbook: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    pairs = 0
    for number in ended:
        entries = texts.get(number, [])
        named = runbooks_named(steps.kb, [t for _, t in entries], audit.get(f"INC-{number}", []))
        if not named:
            continue
        helped = [t for k, t in entries if k in ACTION_KINDS and not had_no_effect(t)]
        used = set().union(*(m.sources for m in steps.match(helped))) if helped else set()
        for book in named:
            pairs += 1
            per_runbook[book.source].append((f"INC-{number}", book.source in used))
    rows = [
        s.CitedRunbook(
            source=source,
            cited_in=len(found),
            not_mitigating=sum(1 for _, u in found if not u),
            incidents=[i for i, u in found if not u],
        )
        for source, found in per_runbook.items()
    ]
    rows.sort(key=lambda r: (-r.not_mitigating, -r.cited_in, r.source))
    missed = sum(r.not_mitigating for r in rows)
    return s.CitedNotMitigating(
        note=ours(CITED_NOTE),
        n=pairs,
        incidents=len({i for found in per_runbook.values() for i, _ in found}),
        not_mitigating=missed,
        share=round(missed / pairs, 4) if pairs else None,
        runbooks=[r for r in rows if r.not_mitigating][:SHOWN],
    )

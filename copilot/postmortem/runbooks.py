"""Runbook updates: what the responders did that no runbook says, and steps that did not help.

Each action on the timeline is searched for among the runbooks. An action is covered when one
runbook section both says it (most of the action's words are in it) and reads like it (embedding
similarity); otherwise the suggestion is to add a step, to the runbook used during the incident
when there was one. A step the timeline records as having had no effect is a suggestion to change
that step. The evidence (similarity, words in common, the closest section) goes with each
suggestion so that the team can judge it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from copilot.errors import InvalidInput
from copilot.guardrails.screened import screened, screened_label
from copilot.knowledge import retrieval
from copilot.knowledge.models import Chunk
from copilot.knowledge.passages import section_phase
from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem.schemas import RunbookSuggestion

# Thresholds, tuned on the sample knowledge base (tests/postmortem/test_runbooks.py).
COVERED_SIMILARITY = 0.3
COVERED_WORDS = 0.55
# A runbook is taken as relevant to the incident above this similarity.
RELEVANT_SIMILARITY = 0.4
MAX_ACTIONS = 25

_WORD = re.compile(r"[a-z][a-z0-9_]{2,}")
_STOP = set(
    "the and for with from that this was were are into onto than then all has have had not but its "
    "our their been being also only which when what who after before still more less new old one "
    "two any per via ran run did done got made set asked used about some them they there here "
    "now once again just very much out off each other both".split()
)
_NO_EFFECT = re.compile(
    r"\b(?:no effect|without effect|did(?: not|n't) (?:help|work|fix|change|resolve)|"
    r"no improvement|no change|not effective|ineffective|made (?:it|things) worse|had no impact|"
    r"still (?:failing|down|broken|erroring|saturated|high|growing))\b",
    re.I,
)
_REDACTED = re.compile(r"\[REDACTED:[a-z_]+\]")
_SOURCE_REF = re.compile(r"^(?P<source>.+?\.(?:md|markdown))(?::(?P<start>\d+)-(?P<end>\d+))?$")


def stem(word: str) -> str:
    """A crude English stem, enough to match "capped" with "cap" and "restarted" with "restart"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        word = word[: -len(suffix)]
        if (
            suffix in ("ing", "ed")
            and len(word) > 3
            and word[-1] == word[-2]
            and word[-1] not in "lsz"
        ):
            word = word[:-1]
        break
    return word


def words(text: str) -> set[str]:
    """Content words of `text`, stemmed; redaction markers are not words of the text."""
    text = _REDACTED.sub(" ", text)
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass
class Runbook:
    source: str
    title: str
    chunks: list[Chunk]
    why: str  # how it came into play: cited by the copilot, named on the timeline, or retrieved
    refs: list[str] = field(default_factory=list)
    top: bool = False  # the first runbook an answer of the copilot cited


@dataclass
class ActionCheck:
    """One timeline action and the runbook step closest to it."""

    event_id: int
    text: str
    covered: bool
    no_effect: bool
    closest: Chunk | None
    similarity: float | None
    overlap: float
    # The closest section among the runbooks in play, and its share of the action's words.
    in_play: Chunk | None = None
    in_play_overlap: float = 0.0
    # The runbooks in play that have a step for it, and where a new step would fit best in them
    # (the section that reads most like the action; a mitigation section on a tie).
    covered_in: set[str] = field(default_factory=set)
    placement: Chunk | None = None


def runbooks_named(
    kb: KnowledgeBase, texts: Iterable[str], audit_sources: Iterable[Sequence[str]]
) -> list[Runbook]:
    """Runbooks the copilot cited during the incident, or that the timeline names.

    `audit_sources` holds the cited passages of each copilot answer, best first.
    """
    files = {s: f for s, f in kb.files().items() if f.kind == "runbook"}
    found: dict[str, Runbook] = {}
    for refs in audit_sources:
        first = True
        for ref in refs:
            match = _SOURCE_REF.match(ref.strip())
            if not match or match.group("source") not in files:
                continue
            source = match.group("source")
            book = found.setdefault(
                source,
                Runbook(
                    source, files[source].title, kb.document_chunks(source), "cited by the copilot"
                ),
            )
            book.top = book.top or first
            first = False
            if ref not in book.refs:
                book.refs.append(ref)
    joined = "\n".join(texts).lower()
    for source, record in files.items():
        if source in found:
            continue
        stem_name = source.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        title = record.title.lower().strip()
        # By title, by file name, or by file name in words ("the vault-sealed / vault sealed").
        names = [n for n in (title, stem_name, stem_name.replace("-", " ")) if len(n) >= 8]
        if any(n in joined for n in names):
            found[source] = Runbook(
                source, record.title, kb.document_chunks(source), "named on the timeline"
            )
    return list(found.values())


def runbooks_retrieved(kb: KnowledgeBase, query: str, *, limit: int = 2) -> list[Runbook]:
    """The runbooks closest to the incident itself, when none was cited or named."""
    try:
        hits = retrieval.search(
            kb=kb, query=query[: retrieval.MAX_QUERY_CHARS], top_k=10, kind="runbook"
        )
    except InvalidInput:
        return []
    out: list[Runbook] = []
    for hit in hits:
        if len(out) >= limit:
            break
        if any(r.source == hit.chunk.source for r in out):
            continue
        if not hit.reasons and (hit.match is None or hit.match < RELEVANT_SIMILARITY):
            continue
        out.append(
            Runbook(
                hit.chunk.source, hit.chunk.title, kb.document_chunks(hit.chunk.source), "retrieved"
            )
        )
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm else 0.0


def check_action(
    kb: KnowledgeBase, event_id: int, text: str, in_play: Sequence[Runbook]
) -> ActionCheck:
    """Whether a runbook covers what an action did, and which section is closest."""
    no_effect = bool(_NO_EFFECT.search(text))
    cleaned = " ".join(_NO_EFFECT.sub(" ", text).split())[: retrieval.MAX_QUERY_CHARS]
    wanted = words(cleaned)
    if not wanted:
        return ActionCheck(event_id, text, False, no_effect, None, None, 0.0)
    try:
        hits = retrieval.search(kb=kb, query=cleaned, top_k=8, kind="runbook")
    except InvalidInput:
        hits = []
    chunks_of = {book.source: book.chunks for book in in_play}
    for hit in hits:
        if hit.chunk.source not in chunks_of:
            chunks_of[hit.chunk.source] = kb.document_chunks(hit.chunk.source)
    ids = [c.id for chunks in chunks_of.values() for c in chunks]
    if not ids:
        return ActionCheck(event_id, text, False, no_effect, None, None, 0.0)
    query = kb.embedder.embed_query(cleaned)
    similarity = {cid: _cosine(query, v) for cid, v in kb.vectors_for(ids).items()}
    best: tuple[float, float, Chunk] | None = None
    best_in_play: tuple[float, float, Chunk] | None = None
    placement: tuple[float, int, Chunk] | None = None
    covered_in: set[str] = set()
    playing = {book.source for book in in_play}
    for source, chunks in chunks_of.items():
        for chunk in chunks:
            # A step is one section that says most of what was done and reads like it.
            overlap = len(wanted & words(chunk.text)) / len(wanted)
            sim = similarity.get(chunk.id, 0.0)
            if best is None or (overlap, sim) > best[:2]:
                best = (overlap, sim, chunk)
            if source not in playing:
                continue
            if overlap >= COVERED_WORDS and sim >= COVERED_SIMILARITY:
                covered_in.add(source)
            if best_in_play is None or (overlap, sim) > best_in_play[:2]:
                best_in_play = (overlap, sim, chunk)
            mitigates = int(section_phase(chunk.section) == "mitigate")
            if placement is None or (sim, mitigates) > placement[:2]:
                placement = (sim, mitigates, chunk)
    if best is None:
        return ActionCheck(event_id, text, False, no_effect, None, None, 0.0)
    overlap, sim, section = best
    covered = overlap >= COVERED_WORDS and sim >= COVERED_SIMILARITY
    return ActionCheck(
        event_id,
        text,
        covered,
        no_effect,
        section,
        round(sim, 3),
        round(overlap, 3),
        in_play=best_in_play[2] if best_in_play else None,
        in_play_overlap=round(best_in_play[0], 3) if best_in_play else 0.0,
        covered_in=covered_in,
        placement=placement[2] if placement else None,
    )


def _where(chunk: Chunk) -> str:
    return f"{chunk.source}:{chunk.line_start}-{chunk.line_end}"


def _at_step(
    action: Literal["add_step", "change_step"],
    chunk: Chunk,
    *,
    event_id: int,
    similarity: float | None,
    overlap: float | None,
    text: str,
) -> RunbookSuggestion:
    """A suggestion about one runbook section, from the timeline event `event_id`."""
    return RunbookSuggestion(
        action=action,
        runbook=chunk.source,
        title=screened_label(chunk.title),
        section=screened_label(chunk.section),
        lines=(chunk.line_start, chunk.line_end),
        event_id=event_id,
        similarity=similarity,
        overlap=overlap,
        text=screened(text),
    )


def suggest(
    kb: KnowledgeBase,
    *,
    actions: Sequence[tuple[int, str, str]],
    texts: Sequence[str],
    audit_sources: Sequence[Sequence[str]],
    incident_query: str,
    services: Sequence[str],
) -> list[RunbookSuggestion]:
    """Concrete runbook updates from the actions on the timeline.

    `actions` are (event id, when, text) of the action, mitigation and decision events, redacted;
    `texts` all the timeline's texts (to find runbooks named in them); `audit_sources` the
    passages each answer of the copilot cited during the incident, best first.
    """
    named = runbooks_named(kb, texts, audit_sources)
    books = list(named)
    for book in runbooks_retrieved(kb, incident_query):
        if all(b.source != book.source for b in books):
            books.append(book)
    out: list[RunbookSuggestion] = []
    covered_by: dict[str, int] = {}
    for event_id, when, text in actions[:MAX_ACTIONS]:
        found = check_action(kb, event_id, text, books)
        closest = found.closest
        if found.no_effect:
            # A step that did not help: in the runbook used, if it says it; else wherever it is.
            overlap = found.overlap
            if found.in_play is not None and found.in_play_overlap >= COVERED_WORDS:
                closest, overlap = found.in_play, found.in_play_overlap
            if closest is not None and overlap >= COVERED_WORDS:
                out.append(
                    _at_step(
                        "change_step",
                        closest,
                        event_id=event_id,
                        similarity=found.similarity,
                        overlap=overlap,
                        text=(
                            f"**Change this step** in {closest.title} § {closest.section} "
                            f"(source: {_where(closest)}): the timeline records "
                            f"“{' '.join(text.split())[:300]}” as having no effect "
                            f"(event #{event_id}, {when})."
                        ),
                    )
                )
            continue
        for source in found.covered_in:
            covered_by[source] = covered_by.get(source, 0) + 1
        if found.covered:
            continue
        chunk = found.placement
        if chunk is None:
            continue
        evidence = (
            f"closest step: {closest.title} § {closest.section}, similarity "
            f"{found.similarity:.2f}, {found.overlap:.0%} of its words"
            if closest is not None and found.similarity is not None
            else "no runbook section comes close"
        )
        out.append(
            _at_step(
                "add_step",
                chunk,
                event_id=event_id,
                similarity=found.similarity,
                overlap=found.overlap,
                text=(
                    f"**Add a step** to {chunk.title} § {chunk.section} (source: {_where(chunk)}): "
                    f"“{' '.join(text.split())[:300]}”, done at {when} (event #{event_id}). No "
                    f"runbook step covers it ({evidence})."
                ),
            )
        )
    for book in named:
        done = covered_by.get(book.source, 0)
        if book.why == "cited by the copilot" and not book.top and not done:
            continue  # only cited among the also-rans of an answer, and no step of it was used
        refs = f" ({', '.join(book.refs[:4])})" if book.refs else ""
        out.append(
            RunbookSuggestion(
                action="review",
                runbook=book.source,
                title=screened_label(book.title),
                text=screened(
                    f"**Review** {book.title} (source: {book.source}), {book.why} during the "
                    f"incident{refs}: it has a step for {done} of the {len(actions)} action(s) on "
                    "the timeline."
                ),
            )
        )
    if not books:
        subject = ", ".join(services) or "this failure"
        out.append(
            RunbookSuggestion(
                action="write_runbook",
                text=screened(
                    f"**Write a runbook** for {subject}: no runbook in the knowledge base matches "
                    "this incident. Start from the actions on the timeline."
                ),
            )
        )
    return out

"""Near-twin documents: the two best matches say nearly the same thing and score about the same.

Alert runbooks come in families ("Node Not Ready" and "Node Readiness Flapping", "Filesystem
Space Filling Up" and "Filesystem Files Filling Up", "Job Failed" and "Job Completion"). When the
first two documents of an answer are such twins, close in score, a responder needs to know which
is which: the answer says so, shows the line of each that tells them apart (its meaning), and
leads with the one the question's own words favour (words only one of the two mentions). When
the words do not decide, ask lists the steps of both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from copilot.knowledge import scope
from copilot.knowledge import sections as section_roles
from copilot.knowledge.models import Chunk
from copilot.knowledge.passages import split_sentences
from copilot.knowledge.store import KnowledgeBase, VectorsUnavailable
from copilot.knowledge.terms import keyword_terms, stem

# The second document scores at least this share of the first (before reordering). 0.9 until
# ask listed an undecided twin's steps too: at 0.8 the reader's public even lines went from step
# recall 0.855 to 0.913 (two near-twin misses at 0.88 and 0.84), the retriever's order unchanged
# on every dev and blind set (evals/README.md, "Near twins").
TWIN_SCORE_RATIO = 0.8
# Cosine similarity of the two documents' mean section vectors. Over the public alert runbooks
# the median pair is 0.35 and the 99th percentile 0.84; labelled twins lie at 0.76-0.95.
TWIN_SIMILARITY = 0.75
# The question's words must favour the second twin by this much to put it first: one word is a
# coin flip on the dev sets (as many reorders hurt as helped), two held (evals/README.md).
REORDER_MARGIN = 2
# What the question's scope (scope.py) weighs for the twin whose title names it.
SCOPE_WEIGHT = 3
# What the side of a limit the question says (scope.bounds: at, below, above) weighs for the twin
# whose meaning alone names it.
BOUND_WEIGHT = 3
# Stems a question word must have to count towards a side (not "the", "is", "on").
_MIN_STEM = 3
_MARKUP = re.compile(r"<[^>]+>|[*_`#>]+")
# The same markup, taken out of a line shown to a person without breaking what it marks:
# "`orders-db-0`)" stays "orders-db-0)" and "orders_ro" keeps its underscore.
_TAGS = re.compile(r"<[^>]+>")
_SHOWN_MARKUP = re.compile(
    r"`+|\*+|(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])|^[ \t]{0,3}(?:#{1,6}|>)[ \t]*", re.MULTILINE
)


@dataclass(frozen=True)
class Twin:
    source: str
    title: str
    # The sentence of its meaning (or first) section that the other document does not say.
    line: str
    lines: tuple[int, int]
    # The question's words that only this document of the two mentions.
    own_words: tuple[str, ...]


@dataclass(frozen=True)
class NearTwins:
    lead: Twin
    other: Twin
    similarity: float
    # True when the question's words moved `lead` ahead of the retriever's first document.
    reordered: bool
    # How far the question's words favour `lead` over `other` (its own words, title words
    # twice).
    margin: int = 0

    @property
    def decided(self) -> bool:
        """Whether the question's own words tell the two apart (by REORDER_MARGIN: one word
        was a coin flip on the dev sets); if not, an answer should show both."""
        return self.margin >= REORDER_MARGIN


# A number the question gives as a duration ("for 10+ minutes") says how long, not which twin.
_DURATION = re.compile(
    r"\b(\d+)\+?\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|weeks?)\b", re.I
)


def _amounts(query: str) -> set[str]:
    """The numbers of a question that are not durations: thresholds ("75%", "above 10")."""
    return set(re.findall(r"\d+", _DURATION.sub(" ", query)))


def _stems(text: str) -> set[str]:
    return {stem(t) for t in keyword_terms(text) if len(t) >= _MIN_STEM or t.isdigit()}


def _meaning(chunks: list[Chunk]) -> Chunk | None:
    """The section that says what the document is about: its meaning/overview, else its first
    section with prose."""
    for chunk in chunks:
        if section_roles.section_role(chunk.section) == "overview" and chunk.text.strip():
            return chunk
    return next((c for c in chunks if c.text.strip()), None)


def _sentences(text: str, min_words: int = 4) -> list[str]:
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip().startswith(("```", "~~~", "|", "<")):
            continue
        flat = " ".join(_SHOWN_MARKUP.sub("", _TAGS.sub(" ", paragraph)).split())
        out += [s for s in split_sentences(flat) if len(s.split()) >= min_words]
    return out


def _sides(chunks: list[Chunk]) -> frozenset[str]:
    """The sides of a limit (scope.bounds) a document's meaning names."""
    chunk = _meaning(chunks)
    return scope.bounds(_MARKUP.sub(" ", chunk.text)) if chunk is not None else frozenset()


def telling_line(own: list[Chunk], other: list[Chunk]) -> tuple[str, tuple[int, int]]:
    """The sentence of a document's meaning that differs most from its twin's meaning: most
    word stems the twin's meaning lacks, the earliest of equals."""
    chunk = _meaning(own)
    if chunk is None:
        return "", (0, 0)
    twin = _meaning(other)
    theirs = _stems(twin.text) if twin is not None else set()
    # A meaning of one short sentence ("Job failed complete.") is still the line to show.
    sentences = _sentences(chunk.text) or _sentences(chunk.text, min_words=1)
    if not sentences:
        return "", (chunk.line_start, chunk.line_end)
    best = max(sentences, key=lambda s: (len(_stems(s) - theirs), -sentences.index(s)))
    return best[:300], (chunk.line_start, chunk.line_end)


def document_similarity(kb: KnowledgeBase, a: str, b: str) -> float | None:
    vectors = kb.document_vectors([a, b])
    if a not in vectors or b not in vectors:
        return None
    return float(np.dot(vectors[a], vectors[b]))


def bring_scoped_third(
    kb: KnowledgeBase, ranked: list[str], scores: dict[str, float], query: str
) -> bool:
    """Put the third document second when it alone of the first three names the scope the
    question says, and it is a near twin of the first close in score: families come in threes
    (Warning 85, 95 and 100; No Leading, No Ready and Low ... Count), and the twin check
    compares only the first two. Scores go with the places. True if it moved."""
    asked = scope.asked_scope(query)
    if asked is None or len(ranked) < 3:
        return False
    first, second, third = ranked[:3]
    if scores[third] < TWIN_SCORE_RATIO * scores[first]:
        return False
    titles = {src: kb.document_chunks(src) for src in (first, second, third)}
    if not all(titles.values()) or titles[first][0].kind != titles[third][0].kind:
        return False
    named = {src for src, chunks in titles.items() if asked in scope.title_scope(chunks[0].title)}
    if named != {third}:
        return False
    try:
        similarity = document_similarity(kb, first, third)
    except VectorsUnavailable:
        return False
    if similarity is None or similarity < TWIN_SIMILARITY:
        return False
    scores[second], scores[third] = scores[third], scores[second]
    ranked[1], ranked[2] = third, second
    return True


def find(
    kb: KnowledgeBase,
    ranked: list[str],
    scores: Mapping[str, float],
    query: str,
) -> NearTwins | None:
    """Whether the first two of `ranked` (sources, best first, with their retrieval `scores`)
    are near twins, and which should lead for this query."""
    if len(ranked) < 2:
        return None
    first, second = ranked[0], ranked[1]
    if scores[second] < TWIN_SCORE_RATIO * scores[first]:
        return None
    chunks = {src: kb.document_chunks(src) for src in (first, second)}
    if not chunks[first] or not chunks[second]:
        return None
    if chunks[first][0].kind != chunks[second][0].kind:
        return None
    try:
        similarity = document_similarity(kb, first, second)
    except VectorsUnavailable:  # the vector store not answering only costs the notice
        return None
    if similarity is None or similarity < TWIN_SIMILARITY:
        return None
    amounts = _amounts(query)
    words = {
        stem(t): t
        for t in keyword_terms(query)
        if len(t) >= _MIN_STEM or (t.isdigit() and t in amounts)
    }
    asked = set(words)
    terms = kb.document_terms([first, second])
    titles = {src: _stems(chunks[src][0].title) for src in (first, second)}
    asked_scope = scope.asked_scope(query)
    scopes = {src: scope.title_scope(chunks[src][0].title) for src in (first, second)}
    asked_bound = scope.asked_bound(query)
    # Read only when the question names a side (find runs on every search).
    sides = {src: _sides(chunks[src]) for src in (first, second)} if asked_bound else {}

    def own(src: str, twin: str) -> set[str]:
        return (asked & terms[src]) - terms[twin]

    def weight(src: str, twin: str) -> int:
        # A word of the question in this title and not in the twin's counts twice; the scope
        # the question says ("every replica", "only a couple still up") named by this title
        # and not the twin's counts as much as REORDER_MARGIN. A threshold the question gives
        # ("above 10", "75% used") that only this twin states counts twice, like a title word:
        # families split on it (Warning at 10, Critical at 16).
        named = asked_scope is not None and asked_scope in scopes[src] - scopes[twin]
        # The side of a limit the question says ("exactly at its minimum", "fewer than it
        # wants") weighs as much when the twins' meanings split on it: this one states it, the
        # other states another side. A twin that states no side is not the other side
        # ("exceeds cluster capacity" against a meaning that names no limit).
        side = (
            asked_bound is not None
            and asked_bound in sides[src] - sides[twin]
            and bool(sides[twin])
        )
        mine = own(src, twin)
        return (
            len(mine)
            + sum(1 for w in mine if w.isdigit())
            + len((asked & titles[src]) - titles[twin])
            + (SCOPE_WEIGHT if named else 0)
            + (BOUND_WEIGHT if side else 0)
        )

    reordered = weight(second, first) >= weight(first, second) + REORDER_MARGIN
    lead, other = (second, first) if reordered else (first, second)
    margin = weight(lead, other) - weight(other, lead)

    def twin(src: str, partner: str) -> Twin:
        line, lines = telling_line(chunks[src], chunks[partner])
        return Twin(
            source=src,
            title=chunks[src][0].title,
            line=line,
            lines=lines,
            own_words=tuple(sorted(words[w] for w in own(src, partner))),
        )

    return NearTwins(
        lead=twin(lead, other),
        other=twin(other, lead),
        similarity=round(similarity, 3),
        reordered=reordered,
        margin=margin,
    )

"""Hybrid retrieval: dense and BM25 sections fused per document, exact names boosted."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from copilot import metrics
from copilot.errors import InvalidInput
from copilot.knowledge import links, spelling, twins, vocabulary
from copilot.knowledge import sections as section_roles
from copilot.knowledge.contrast import contrasted, names_ruled_out
from copilot.knowledge.models import Chunk, Hit
from copilot.knowledge.store import KnowledgeBase, VectorsUnavailable
from copilot.knowledge.terms import WORD, keyword_terms, split_camel, stem

MAX_QUERY_CHARS = 2000
# An exact alert name or document title in the query is the strongest signal a responder can
# give: it outranks anything fusion can produce (fused document scores lie in 0..1).
EXACT_ALERT_BOOST = 1.0
EXACT_TITLE_BOOST = 0.5
# A lead section weighted below this (a link list, a checklist) gives way to a useful one.
WEAK_LEAD = 0.5
# Within the same document, sections are ordered by their own fused score.
SECTION_WEIGHT = 0.01
# A match in a section that describes the symptom (overview, meaning, impact, summary) says more
# about the document than one in its procedure, whose wording runbooks share. Tuned on
# evals/datasets: openshift hit@1 0.73 -> 0.78, the others unchanged or up.
_SYMPTOM_SECTION = re.compile(r"overview|meaning|impact|summary|description|symptom", re.I)
OTHER_SECTION_DENSE = 0.95
OTHER_SECTION_KEYWORD = 0.8
# A symptom asks what to do (a runbook); "has this happened before" asks for history (a
# postmortem). Without a kind filter, the kind the wording asks for gets this much ahead.
KIND_PRIOR = 0.1
# Documents whose `services` front matter names one of the incident's services (or their
# neighbours in the service catalog) get this much ahead: a tie-breaker between runbooks that
# match about as well, well below an exact alert or title match. Measured by evals.ask_services.
PREFER_BOOST = 0.1
# A document whose title names what the question rules out ("..., not the kubelet one") moves
# back by about the gap between near twins.
RULED_OUT_PENALTY = 0.3
# Of the first two documents, close in score (the second at least WHOLE_DOCUMENT_RATIO of the
# first), the one whose whole text (its mean section vector) is closer in meaning to the question
# by more than WHOLE_DOCUMENT_MARGIN leads. Fusion ranks a document by its best section, and
# sibling runbooks share procedure sections word for word ("Job Failed" and "Job Completion",
# "DNS NXDOMAIN" and "CoreDNS errors"); what the whole document is about tells them apart more
# often. Only between documents of one kind and one family (their mean vectors at cosine
# WHOLE_DOCUMENT_SIBLINGS or more): a long postmortem, or a runbook on another subject, is not
# ranked by what it is about as a whole (at 0.5, "checkout throwing 500s since the last deploy"
# led with the general checkout-errors runbook, at 0.53, not the deploy-rollback one). Decided
# on the even lines of the reader and retrieval sets, checked on the odd ones (evals/README.md,
# "The whole document").
WHOLE_DOCUMENT_RATIO = 0.8
WHOLE_DOCUMENT_MARGIN = 0.06
WHOLE_DOCUMENT_SIBLINGS = 0.6
# ... unless the question's own words point at the first: the second's best keyword match is
# under this share of the first's ("checkout failing, pgbouncer says too many clients" is the
# connection-pool runbook, though the checkout-errors runbook is closer to it as a whole).
WHOLE_DOCUMENT_WORDS = 0.6
# A page that SHARED_PAGE_LINKS or more documents link to (a helper: "gather the logs", "debug a
# pod", "troubleshoot Ceph") gives the lead to a runbook among the next SHARED_PAGE_WITHIN that
# links to it and scores at least SHARED_PAGE_RATIO of it: the alert's own runbook says when and
# why, and points to the helper where it is needed.
SHARED_PAGE_LINKS = 3
SHARED_PAGE_WITHIN = 3
SHARED_PAGE_RATIO = 0.6
_HISTORY = re.compile(
    r"\b(before|previous(ly)?|earlier|last time|past (incident|outage)s?|ever|again|"
    r"have we (seen|had)|did we|post-?mortems?|similar incidents?|happened)\b",
    re.IGNORECASE,
)


def wanted_kind(query: str) -> str:
    """The kind of document the wording of a query asks for."""
    return "postmortem" if _HISTORY.search(query) else "runbook"


# A question that asks about history outright ("have we seen this before?", "did we ever ...",
# "any past incident like this?"), not one that only says "before" or "again" in passing
# ("what do I check before failing over?").
_ASKS_HISTORY = re.compile(
    r"\b(have|has) (we|this|it|that) (ever )?(seen|had|happened|hit)\b"
    r"|\bdid (we|this|it|that) (ever|happen)\b|\bever (had|seen|happened)\b"
    r"|\b(has|have|had) there (ever )?been (an?|any) (incident|outage)s?\b"
    r"|\b(past|previous|earlier|similar) (incident|outage|postmortem)s?\b|\blast time\b"
    r"|\b(seen|had|happened) (this|that|it) before\b|\bbefore\s*\?",
    re.IGNORECASE,
)


def asks_about_history(query: str) -> bool:
    """Whether the question asks outright whether this happened before."""
    return bool(_ASKS_HISTORY.search(query))


_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keyword-search")
_TOKEN = re.compile(r"[A-Za-z0-9_]+")


def validate_query(query: str) -> str:
    cleaned = query.strip()
    if not cleaned:
        raise InvalidInput("query must not be empty")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query is {len(cleaned)} characters; the limit is {MAX_QUERY_CHARS}")
    return cleaned


def _matches_filters(chunk: Chunk, services: Sequence[str], tags: Sequence[str]) -> bool:
    if services and not {s.lower() for s in services} & {s.lower() for s in chunk.services}:
        return False
    return not tags or bool({t.lower() for t in tags} & {t.lower() for t in chunk.tags})


def _exact_boost(chunk: Chunk, query_tokens: set[str], query_lower: str) -> tuple[float, list[str]]:
    boost, reasons = 0.0, []
    if any(alert.lower() in query_tokens for alert in chunk.alerts):
        boost += EXACT_ALERT_BOOST
        reasons.append("alert name")
    title = chunk.title.lower().strip()
    if len(title) >= 8 and title in query_lower:
        boost += EXACT_TITLE_BOOST
        reasons.append("title")
    return boost, reasons


# What a search response says when the vector store did not answer and hybrid search fell back
# to its keyword half (SearchResponse.degraded).
KEYWORD_ONLY = (
    "keyword search only: the vector store does not answer, so results are not ranked by "
    "meaning and may miss sections that use other words"
)


@dataclass(frozen=True)
class Retrieved:
    hits: list[Hit]
    # None, or what was missing and what that means for the hits (KEYWORD_ONLY).
    degraded: str | None = None
    # The first two documents when they are near twins close in score (see twins.py).
    twins: twins.NearTwins | None = None
    # Typing slips read as the knowledge base's words, typed -> searched (see spelling.py).
    corrected: dict[str, str] = field(default_factory=dict)


def search(
    *,
    kb: KnowledgeBase,
    query: str,
    top_k: int = 5,
    kind: str | None = None,
    services: Sequence[str] = (),
    tags: Sequence[str] = (),
    mode: str = "hybrid",
    prefer: Sequence[str] = (),
    prefer_boost: float = PREFER_BOOST,
) -> list[Hit]:
    """Best sections for a plain-language query, best first (see `retrieve`)."""
    return retrieve(
        kb=kb,
        query=query,
        top_k=top_k,
        kind=kind,
        services=services,
        tags=tags,
        mode=mode,
        prefer=prefer,
        prefer_boost=prefer_boost,
    ).hits


@metrics.timed(metrics.RETRIEVAL_SECONDS)
def retrieve(
    *,
    kb: KnowledgeBase,
    query: str,
    top_k: int = 5,
    kind: str | None = None,
    services: Sequence[str] = (),
    tags: Sequence[str] = (),
    mode: str = "hybrid",
    prefer: Sequence[str] = (),
    prefer_boost: float = PREFER_BOOST,
) -> Retrieved:
    """Best sections for a plain-language query, best first, and whether retrieval was whole.

    `mode` is "hybrid" (the product), or "dense" / "keyword" alone (the eval's baselines).
    `services` keeps only documents that name one of them; `prefer` only moves documents that
    name one of its services `prefer_boost` ahead (hybrid mode only). When the Chroma server does
    not answer, hybrid search returns its keyword half and says so in `degraded`; dense search
    alone raises VectorsUnavailable (503).
    """
    query = validate_query(query)
    # A slip ("pagment") is searched as the knowledge base's word for it ("payment").
    correction = (
        spelling.correct(query, spelling.vocabulary(kb))
        if mode == "hybrid"
        else spelling.Correction(query)
    )
    query = correction.text
    # What the question rules out ("not the kubelet one") is not searched for, and a document
    # whose title names it falls back.
    contrast = contrasted(query)
    query = contrast.kept
    settings = kb.settings
    filtered = bool(services or tags)
    pool = settings.candidates * (5 if filtered else 1)
    pool = max(pool, top_k * 2)

    dense: list[tuple[str, float]] = []
    keyword: list[tuple[str, float]] = []
    # The question's own words with the short names spelled out; searched with the runbooks'
    # words for its phrases beside them.
    own_words = vocabulary.spell_out(query, phrases=False)
    searched = vocabulary.with_phrases(own_words)
    # Read the version once here, not in each half: two threads checking it at once could
    # each see a different knowledge base (one before another replica's change, one after).
    kb.refresh()
    generation = kb.generation
    # The keyword search runs while the query is embedded: both release the GIL, and the
    # embedding is most of a search's time.
    pending = (
        _POOL.submit(kb.keyword_search, searched, n=pool, kind=kind)
        if mode in ("hybrid", "keyword")
        else None
    )
    degraded: str | None = None
    query_vector: np.ndarray | None = None
    own_vector: np.ndarray | None = None
    if mode in ("hybrid", "dense"):
        query_vector = kb.embedder.embed_query(searched)
        dense, degraded = _dense_half(kb, query_vector, n=pool, kind=kind, mode=mode)
        if degraded is None and own_words != searched:
            own_vector = kb.embedder.embed_query(own_words)
    if pending is not None:
        keyword = pending.result()

    wanted = _found_ids(dense, keyword)
    chunks = kb.chunks(wanted)
    if kb.generation != generation or (len(chunks) < len(wanted) and kb.refresh(force=True)):
        # The knowledge base changed while this search ran, or since this replica last read its
        # version (its in-memory indexes named sections that are gone): search again, once, on
        # what is there now rather than answer with nothing until the next periodic check.
        if mode in ("hybrid", "keyword"):
            keyword = kb.keyword_search(searched, n=pool, kind=kind)
        if query_vector is not None and degraded is None:
            dense, degraded = _dense_half(kb, query_vector, n=pool, kind=kind, mode=mode)
        wanted = _found_ids(dense, keyword)
        chunks = kb.chunks(wanted)
    # Stale vectors (not in the catalog) and filtered-out sections take no part.
    dense = [
        (c, s) for c, s in dense if c in chunks and _matches_filters(chunks[c], services, tags)
    ]
    keyword = [
        (c, s) for c, s in keyword if c in chunks and _matches_filters(chunks[c], services, tags)
    ]
    dense_norm = _min_max(dense)
    keyword_norm = _max_scaled(keyword)
    alpha = settings.dense_weight / ((settings.dense_weight + settings.keyword_weight) or 1.0)

    # Documents are ranked on their best dense section and their best keyword section (which may
    # differ): a runbook whose title matches and whose Mitigation matches is one good answer.
    doc_dense: dict[str, float] = {}
    doc_keyword: dict[str, float] = {}
    for cid, value in dense_norm.items():
        chunk = chunks[cid]
        weight = 1.0 if _SYMPTOM_SECTION.search(chunk.section) else OTHER_SECTION_DENSE
        doc_dense[chunk.source] = max(doc_dense.get(chunk.source, 0.0), value * weight)
    for cid, value in keyword_norm.items():
        chunk = chunks[cid]
        weight = 1.0 if _SYMPTOM_SECTION.search(chunk.section) else OTHER_SECTION_KEYWORD
        doc_keyword[chunk.source] = max(doc_keyword.get(chunk.source, 0.0), value * weight)

    # Of two documents that match about as well, the one that mentions more of the query's words
    # anywhere (not only in its best section) is more often the answer: near-twin runbooks such
    # as "replicas mismatch" and "update not rolled out" differ in the words a symptom names.
    # Only documents of the wanted kind earn it: a long postmortem mentions many words.
    # The single-signal modes stay pure: they are the eval's baselines.
    query_stems = {stem(t) for t in keyword_terms(searched)} if mode == "hybrid" else set()
    stems = kb.document_terms(doc_dense.keys() | doc_keyword.keys()) if query_stems else {}
    query_tokens = {t.lower() for t in _TOKEN.findall(query)}
    query_lower = query.lower()
    preferred = kind or wanted_kind(query)
    favoured = {p.lower() for p in prefer} if mode == "hybrid" else set()
    # Which section of a document leads: the one that matches best, weighted by what the
    # question wants to read (a symptom: meaning, diagnosis, mitigation; never a link list).
    intent = section_roles.query_intent(query, history=preferred == "postmortem")
    role_weight: dict[str, float] = {}
    dense_rank = {cid: i for i, (cid, _) in enumerate(dense, 1)}
    keyword_rank = {cid: i for i, (cid, _) in enumerate(keyword, 1)}
    similarity = dict(dense)
    if own_vector is not None:
        # The runbooks' words for a phrase rank documents; how close a section is to the
        # question (the no-match and abstain floors) is measured on the question's own words:
        # "jumbo frames? (MTU 9000)" is nearer a CDN runbook than "jumbo frames?" is.
        similarity = _similarities(kb, own_vector, similarity)

    doc_score: dict[str, float] = {}
    doc_reasons: dict[str, list[str]] = {}
    by_doc: dict[str, list[tuple[float, Chunk]]] = {}
    for cid, chunk in chunks.items():
        if cid not in dense_norm and cid not in keyword_norm:
            continue
        src = chunk.source
        if src not in doc_score:
            boost, reasons = _exact_boost(chunk, query_tokens, query_lower)
            prior, coverage = 0.0, 0.0
            if chunk.kind == preferred:
                prior = KIND_PRIOR
                mentioned = query_stems & stems.get(src, frozenset())
                coverage = settings.coverage_weight * len(mentioned) / (len(query_stems) or 1)
            if favoured & {s.lower() for s in chunk.services}:
                boost += prefer_boost
            if names_ruled_out(contrast, chunk.title):
                boost -= RULED_OUT_PENALTY
            doc_score[src] = (
                alpha * doc_dense.get(src, 0.0)
                + (1 - alpha) * doc_keyword.get(src, 0.0)
                + boost
                + prior
                + coverage
            )
            doc_reasons[src] = reasons
        section_score = alpha * dense_norm.get(cid, 0.0) + (1 - alpha) * keyword_norm.get(cid, 0.0)
        if chunk.section not in role_weight:
            role = section_roles.section_role(chunk.section)
            role_weight[chunk.section] = section_roles.section_weight(role, intent, query)
        section_score *= role_weight[chunk.section]
        by_doc.setdefault(src, []).append((section_score, chunk))

    # Best section of every document first, in document order; then second-best sections, and
    # so on: the first results name distinct runbooks, and the best one's sections follow.
    ordered_docs = sorted(doc_score, key=lambda d: (-doc_score[d], d))
    if mode == "hybrid" and dense:
        _meaning_leads(ordered_docs, doc_score, doc_dense, doc_reasons)
    if (
        mode == "hybrid"
        and degraded is None
        and _whole_document_favours_second(
            kb,
            ordered_docs,
            doc_score,
            doc_keyword,
            {src: by_doc[src][0][1].kind for src in ordered_docs[:2]},
            query_vector,
        )
    ):
        _lead_with(ordered_docs, doc_score, 1)
    if mode == "hybrid":
        _shared_page_gives_way(kb, ordered_docs, doc_score)
    # Near-twin runbooks close in score: the one the question's own words favour leads, and the
    # response says they are twins and what tells them apart. A third that alone names the
    # scope the question says ("every replica", "only one ready") is compared in the second's place.
    if mode == "hybrid":
        twins.bring_scoped_third(kb, ordered_docs, doc_score, query)
    found_twins = twins.find(kb, ordered_docs[:2], doc_score, query) if mode == "hybrid" else None
    if found_twins is not None and found_twins.reordered:
        _lead_with(ordered_docs, doc_score, 1)
    for src in ordered_docs:
        by_doc[src].sort(key=lambda item: (-item[0], item[1].ordinal))
    # A document that matched only in a section nobody wants to lead with (its link list, a
    # verification checklist) is shown by its most useful section instead.
    for src in ordered_docs[:top_k]:
        lead = by_doc[src][0][1]
        if role_weight.get(lead.section, 1.0) >= WEAK_LEAD:
            continue
        useful = [
            c
            for c in kb.document_chunks(src)
            if section_roles.section_weight(section_roles.section_role(c.section), intent, query)
            >= WEAK_LEAD
        ]
        if useful:
            matched = {c.id for _, c in by_doc[src]}
            best = max(
                useful,
                key=lambda c: (
                    section_roles.section_weight(
                        section_roles.section_role(c.section), intent, query
                    ),
                    -c.ordinal,
                ),
            )
            if best.id not in matched:
                by_doc[src].insert(0, (by_doc[src][0][0], best))
            else:
                by_doc[src].sort(key=lambda item: item[1].id != best.id)
    doc_similarity: dict[str, float] = {}
    for src, sections in by_doc.items():
        seen = [similarity[c.id] for _, c in sections if c.id in similarity]
        if seen:
            doc_similarity[src] = max(seen)
    hits: list[Hit] = []
    depth = 0
    while len(hits) < top_k:
        added = False
        for src in ordered_docs:
            sections = by_doc[src]
            if depth < len(sections):
                section_score, chunk = sections[depth]
                score = doc_score[src] + SECTION_WEIGHT * section_score
                # Best first, and the scores say so: a section's small share of the score never
                # puts a result above the one ranked before it (documents nearly tied).
                if hits:
                    score = min(score, hits[-1].score)
                hits.append(
                    Hit(
                        chunk=chunk,
                        score=score,
                        dense_rank=dense_rank.get(chunk.id),
                        keyword_rank=keyword_rank.get(chunk.id),
                        similarity=similarity.get(chunk.id),
                        reasons=tuple(doc_reasons[src]),
                        document_similarity=doc_similarity.get(src),
                    )
                )
                added = True
                if len(hits) >= top_k:
                    break
        if not added:
            break
        depth += 1
    return Retrieved(hits=hits, degraded=degraded, twins=found_twins, corrected=correction.fixes)


def _dense_half(
    kb: KnowledgeBase, vector: np.ndarray, *, n: int, kind: str | None, mode: str
) -> tuple[list[tuple[str, float]], str | None]:
    """Dense search, and whether retrieval is degraded: in hybrid mode an outage of the vector
    store leaves the keyword half (it should not take runbook search down with it)."""
    try:
        return kb.dense_search(vector, n=n, kind=kind), None
    except VectorsUnavailable:
        if mode == "dense":
            raise
        metrics.RETRIEVAL_DEGRADED.inc()
        return [], KEYWORD_ONLY


def _found_ids(dense: list[tuple[str, float]], keyword: list[tuple[str, float]]) -> list[str]:
    """The sections either half found, each once, dense first."""
    return list(dict.fromkeys([cid for cid, _ in dense] + [cid for cid, _ in keyword]))


def _similarities(
    kb: KnowledgeBase, vector: np.ndarray, found: dict[str, float]
) -> dict[str, float]:
    """The cosine similarity of `vector` to each section of `found` (which keeps its values if
    the vector store does not answer)."""
    try:
        measured = kb.similarities(vector, list(found))
    except VectorsUnavailable:
        return found
    return {cid: measured.get(cid, value) for cid, value in found.items()}


def _lead_with(ordered: list[str], scores: dict[str, float], k: int) -> None:
    """Put the document at place `k` first, the ones before it one place down; the scores stay
    with the places (the first still scores highest)."""
    places = [scores[d] for d in ordered[: k + 1]]
    ordered[: k + 1] = [ordered[k], *ordered[:k]]
    for doc, value in zip(ordered[: k + 1], places, strict=True):
        scores[doc] = value


def _meaning_leads(
    ordered: list[str],
    scores: dict[str, float],
    dense: dict[str, float],
    reasons: dict[str, list[str]],
) -> bool:
    """Put first the best document the dense search found when the first was found by its
    words alone (none of its sections among the dense candidates) and does not name the alert
    or title the question names: the words such a document shares with the question are the
    boilerplate sibling runbooks repeat ("edit the default definition", "disable this alert"),
    not what it is about. The scores keep their places."""
    if not ordered or ordered[0] in dense or reasons.get(ordered[0]):
        return False
    for k, src in enumerate(ordered[1:], 1):
        if src in dense:
            _lead_with(ordered, scores, k)
            return True
    return False


def _alert_title(title: str) -> bool:
    """Whether a title is an alert's name: one word of CamelCase parts starting upper-case,
    "CephClusterErrorState", "KubePodNotReady", or with an acronym first, "ODFMirrorStatus",
    "DNSErrors"."""
    word = title.strip()
    return bool(WORD.fullmatch(word)) and word[:1].isupper() and len(split_camel(word).split()) > 1


def _names_alert(kb: KnowledgeBase, source: str) -> bool:
    """Whether a document is an alert's runbook: its front matter lists alerts, or its title is
    an alert's name."""
    chunks = kb.document_chunks(source)
    return bool(chunks) and (bool(chunks[0].alerts) or _alert_title(chunks[0].title))


def _shared_page_gives_way(kb: KnowledgeBase, ordered: list[str], scores: dict[str, float]) -> bool:
    """Put first the best of the next SHARED_PAGE_WITHIN documents that links to the first
    when the first is a shared page (see SHARED_PAGE_LINKS); the scores keep their places."""
    if len(ordered) < 2:
        return False
    first = ordered[0]
    into = links.linked_from(kb, first)
    if len(into) < SHARED_PAGE_LINKS or _names_alert(kb, first):
        return False
    for k in range(1, min(len(ordered), SHARED_PAGE_WITHIN + 1)):
        src = ordered[k]
        if (
            src in into
            and scores[src] >= SHARED_PAGE_RATIO * scores[first]
            and _names_alert(kb, src)
        ):
            _lead_with(ordered, scores, k)
            return True
    return False


def _whole_document_favours_second(
    kb: KnowledgeBase,
    ordered: list[str],
    scores: dict[str, float],
    keyword: dict[str, float],
    kinds: dict[str, str],
    query_vector: np.ndarray | None,
) -> bool:
    """Whether the second document, close behind the first, is as a whole the closer in
    meaning to the question (see WHOLE_DOCUMENT_RATIO)."""
    if query_vector is None or len(ordered) < 2:
        return False
    first, second = ordered[0], ordered[1]
    if scores[second] < WHOLE_DOCUMENT_RATIO * scores[first]:
        return False
    if keyword.get(second, 0.0) < WHOLE_DOCUMENT_WORDS * keyword.get(first, 0.0):
        return False
    # The kinds of the sections this search read: a document removed by an ingest meanwhile is
    # not looked up again.
    if kinds[first] != kinds[second]:
        return False
    try:
        vectors = kb.document_vectors([first, second])
    except VectorsUnavailable:
        return False
    if first not in vectors or second not in vectors:
        return False
    if float(np.dot(vectors[first], vectors[second])) < WHOLE_DOCUMENT_SIBLINGS:
        return False
    closer = float(np.dot(query_vector, vectors[second]))
    return closer - float(np.dot(query_vector, vectors[first])) > WHOLE_DOCUMENT_MARGIN


# A score a person reads lies in 0..1. The fused score (about 0..2.9: fusion, prior, coverage and
# exact-name boosts) is squashed monotonically, so the order is the retriever's; then the whole
# response is scaled by how close its best match is in meaning, so an off-topic question shows
# low scores instead of a confident 0.9.
FULL_MATCH_MARGIN = 0.2


def display_score(score: float) -> float:
    return 1.0 - math.exp(-max(score, 0.0))


@dataclass(frozen=True)
class MatchStrength:
    no_match: bool
    best_similarity: float
    scale: float


def match_strength(hits: Sequence[Hit], *, floor: float) -> MatchStrength:
    """Whether anything passes the similarity floor (an exact alert name or title always does),
    and the factor a response's scores are scaled by."""
    best = max((h.match for h in hits if h.match is not None), default=0.0)
    if any(h.reasons for h in hits):
        return MatchStrength(no_match=False, best_similarity=best, scale=1.0)
    scale = min(1.0, max(0.0, best) / (floor + FULL_MATCH_MARGIN)) if floor > 0 else 1.0
    return MatchStrength(no_match=best < floor, best_similarity=best, scale=scale)


def _min_max(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """Cosine similarities rescaled to 0..1 over this query's candidates."""
    if not pairs:
        return {}
    values = [v for _, v in pairs]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return {cid: (v - low) / span for cid, v in pairs}


def _max_scaled(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """BM25 scores as a fraction of this query's best."""
    if not pairs:
        return {}
    best = max(v for _, v in pairs) or 1.0
    return {cid: max(v, 0.0) / best for cid, v in pairs}

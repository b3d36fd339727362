"""Hybrid retrieval: dense and BM25 candidates fused by reciprocal rank, exact names boosted."""

from __future__ import annotations

import re
from collections.abc import Sequence

from copilot.errors import InvalidInput
from copilot.knowledge.models import Chunk, Hit
from copilot.knowledge.store import KnowledgeBase

MAX_QUERY_CHARS = 2000
# An exact alert name or document title in the query is the strongest signal a responder can
# give: it outranks anything fusion can produce (the fused maximum is about 2/(k+1)).
EXACT_ALERT_BOOST = 0.05
EXACT_TITLE_BOOST = 0.03
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


def search(
    *,
    kb: KnowledgeBase,
    query: str,
    top_k: int = 5,
    kind: str | None = None,
    services: Sequence[str] = (),
    tags: Sequence[str] = (),
    mode: str = "hybrid",
) -> list[Hit]:
    """Best sections for a plain-language query, best first.

    `mode` is "hybrid" (the product), or "dense" / "keyword" alone (the eval's baselines).
    """
    query = validate_query(query)
    settings = kb.settings
    filtered = bool(services or tags)
    pool = settings.candidates * (5 if filtered else 1)
    pool = max(pool, top_k * 2)

    dense: list[tuple[str, float]] = []
    keyword: list[tuple[str, float]] = []
    if mode in ("hybrid", "dense"):
        dense = kb.dense_search(kb.embedder.embed_query(query), n=pool, kind=kind)
    if mode in ("hybrid", "keyword"):
        keyword = kb.keyword_search(query, n=pool, kind=kind)

    chunks = kb.chunks(list(dict.fromkeys([cid for cid, _ in dense] + [cid for cid, _ in keyword])))
    query_tokens = {t.lower() for t in _TOKEN.findall(query)}
    query_lower = query.lower()
    k = settings.rrf_k
    scores: dict[str, float] = {}
    dense_rank: dict[str, int] = {}
    keyword_rank: dict[str, int] = {}
    similarity: dict[str, float] = {}

    # Ranks are counted over live, filter-passing chunks only, so a stale vector or a filtered-out
    # section does not push the rest down.
    rank = 0
    for cid, sim in dense:
        chunk = chunks.get(cid)
        if chunk is None or not _matches_filters(chunk, services, tags):
            continue
        rank += 1
        dense_rank[cid] = rank
        similarity[cid] = sim
        scores[cid] = scores.get(cid, 0.0) + settings.dense_weight / (k + rank)
    rank = 0
    for cid, _ in keyword:
        chunk = chunks.get(cid)
        if chunk is None or not _matches_filters(chunk, services, tags):
            continue
        rank += 1
        keyword_rank[cid] = rank
        scores[cid] = scores.get(cid, 0.0) + settings.keyword_weight / (k + rank)

    hits: list[Hit] = []
    for cid, score in scores.items():
        chunk = chunks[cid]
        boost, reasons = _exact_boost(chunk, query_tokens, query_lower)
        hits.append(
            Hit(
                chunk=chunk,
                score=score + boost,
                dense_rank=dense_rank.get(cid),
                keyword_rank=keyword_rank.get(cid),
                similarity=similarity.get(cid),
                reasons=tuple(reasons),
            )
        )
    hits.sort(key=lambda h: (-h.score, h.chunk.source, h.chunk.ordinal))
    return hits[:top_k]

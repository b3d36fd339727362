"""HTTP routes of the knowledge base."""

from __future__ import annotations

from fastapi import APIRouter

from copilot.api.deps import KnowledgeBaseDep
from copilot.knowledge import retrieval
from copilot.knowledge.schemas import SearchRequest, SearchResponse, SearchResult

router = APIRouter(prefix="/v1", tags=["knowledge"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, kb: KnowledgeBaseDep) -> SearchResponse:
    hits = retrieval.search(
        kb=kb,
        query=body.query,
        top_k=body.top_k,
        kind=body.kind,
        services=body.services,
        tags=body.tags,
    )
    return SearchResponse(query=body.query, results=[SearchResult.from_hit(h) for h in hits])

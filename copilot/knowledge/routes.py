"""HTTP routes of the knowledge base."""

from __future__ import annotations

from fastapi import APIRouter

from copilot.api.deps import KnowledgeBaseDep, SettingsDep
from copilot.knowledge import admin, retrieval
from copilot.knowledge.schemas import (
    IngestRequest,
    IngestResponse,
    SearchRequest,
    SearchResponse,
)

router = APIRouter(prefix="/v1", tags=["knowledge"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, kb: KnowledgeBaseDep) -> SearchResponse:
    """Best sections for the query; `no_match` when nothing passes the similarity floor,
    `degraded` when the vector store did not answer and only keywords were searched."""
    found = retrieval.retrieve(
        kb=kb,
        query=body.query,
        top_k=body.top_k,
        kind=body.kind,
        services=body.services,
        tags=body.tags,
    )
    return SearchResponse.build(
        body.query,
        found.hits,
        floor=kb.settings.abstain_below,
        degraded=found.degraded,
        twins=found.twins,
        corrected=found.corrected,
    )


@router.post("/admin/ingest", response_model=IngestResponse, tags=["admin"])
def ingest(body: IngestRequest, kb: KnowledgeBaseDep, settings: SettingsDep) -> IngestResponse:
    """Ingest files the server can read, in the server (it owns the store). Admin scope."""
    return admin.ingest(
        kb=kb, paths=body.paths, roots=settings.allowed_ingest_roots, rebuild=body.rebuild
    )

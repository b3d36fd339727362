"""HTTP route of ask."""

from __future__ import annotations

from fastapi import APIRouter

from copilot import metrics
from copilot.api.deps import AuditorDep, ComposerDep, IncidentStoreDep, KnowledgeBaseDep
from copilot.assist import service
from copilot.assist.schemas import AskRequest, AskResponse
from copilot.incidents import service as incidents
from copilot.security.audit import source_refs

router = APIRouter(prefix="/v1", tags=["assist"])


@router.post("/ask", response_model=AskResponse)
def ask(
    body: AskRequest,
    kb: KnowledgeBaseDep,
    store: IncidentStoreDep,
    composer: ComposerDep,
    auditor: AuditorDep,
) -> AskResponse:
    incident = events = None
    if body.incident_id:
        incident = incidents.get_incident(store=store, incident_id=body.incident_id)
        events = incidents.list_events(store=store, incident_id=body.incident_id)
    response = service.ask(
        kb=kb,
        question=body.question,
        composer=composer,
        incident=incident,
        events=events or (),
        top_k=body.top_k,
        db=store.db,
        max_steps=body.max_steps,
    )
    metrics.observe_answer(response)
    auditor.record(
        action="ask",
        question=body.question,
        sources=source_refs([*response.citations, *response.similar_incidents]),
        incident_id=incident.id if incident is not None else None,
    )
    return response

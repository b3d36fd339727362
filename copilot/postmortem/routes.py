"""HTTP route of the postmortem draft."""

from __future__ import annotations

from fastapi import APIRouter

from copilot.api.deps import AuditorDep, IncidentStoreDep, OptionalKnowledgeBaseDep, SettingsDep
from copilot.postmortem import service
from copilot.postmortem.schemas import PostmortemRequest, PostmortemResponse
from copilot.postmortem.template import load_template

router = APIRouter(prefix="/v1", tags=["postmortem"])


@router.post("/incidents/{incident_id}/postmortem", response_model=PostmortemResponse)
def draft_postmortem(
    incident_id: str,
    store: IncidentStoreDep,
    kb: OptionalKnowledgeBaseDep,
    settings: SettingsDep,
    auditor: AuditorDep,
    body: PostmortemRequest | None = None,
) -> PostmortemResponse:
    request = body or PostmortemRequest()
    response = service.draft_postmortem(
        store=store,
        incident_id=incident_id,
        kb=kb,
        template=load_template(settings.postmortem_template),
        similar=request.similar,
    )
    auditor.record(
        action="postmortem",
        question=f"postmortem draft for {response.incident_id}",
        sources=service.sources_of(response),
        incident_id=response.incident_id,
    )
    return response

"""HTTP routes of status updates: draft, list, show, publish, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from copilot import metrics
from copilot.api.deps import (
    AuditorDep,
    ChatDep,
    IncidentStoreDep,
    OptionalKnowledgeBaseDep,
    StatusConfigDep,
    get_status_page,
)
from copilot.incidents import service as incidents
from copilot.status import export as export_mod
from copilot.status import schemas as s
from copilot.status import service

router = APIRouter(prefix="/v1/incidents/{incident_id}/status-updates", tags=["status updates"])


@router.post("", response_model=s.Draft, status_code=201)
def create_draft(
    incident_id: str,
    body: s.DraftRequest,
    store: IncidentStoreDep,
    config: StatusConfigDep,
    chat: ChatDep,
    kb: OptionalKnowledgeBaseDep,
    auditor: AuditorDep,
) -> s.Draft:
    draft = service.create_draft(
        store=store,
        config=config,
        incident_id=incident_id,
        audience=body.audience,
        chat=chat,
        author=body.author,
        kb=kb,
    )
    metrics.guardrail_triggered("blocked", len(draft.guardrails.removed))
    if draft.guardrails.fallback:
        metrics.guardrail_triggered("fallback")
    auditor.record(
        action="status_update",
        question=f"{draft.audience} status update (draft {draft.id}, {draft.status})",
        sources=[],
        incident_id=draft.incident_id,
    )
    return draft


@router.get("", response_model=s.DraftList)
def list_drafts(
    incident_id: str,
    store: IncidentStoreDep,
    audience: Annotated[s.Audience | None, Query()] = None,
) -> s.DraftList:
    drafts = service.list_drafts(store=store, incident_id=incident_id, audience=audience)
    return s.DraftList(incident_id=incidents.canonical_id(incident_id), drafts=drafts)


@router.get("/{draft_id}", response_model=s.Draft)
def get_draft(incident_id: str, draft_id: str, store: IncidentStoreDep) -> s.Draft:
    return service.get_draft(store=store, incident_id=incident_id, draft_id=draft_id)


@router.post("/{draft_id}/publish", response_model=s.Draft)
def publish(
    incident_id: str,
    draft_id: str,
    store: IncidentStoreDep,
    config: StatusConfigDep,
    request: Request,
    body: s.PublishRequest | None = None,
) -> s.Draft:
    # The status page's components are read only when a public update names some.
    return service.publish(
        store=store,
        config=config,
        incident_id=incident_id,
        draft_id=draft_id,
        request=body,
        page_components=lambda names: get_status_page(request).resolve(names),
    )


@router.get("/{draft_id}/export", response_model=s.StatusExport)
def export(
    incident_id: str, draft_id: str, store: IncidentStoreDep, config: StatusConfigDep
) -> s.StatusExport:
    return export_mod.export(store=store, config=config, incident_id=incident_id, draft_id=draft_id)

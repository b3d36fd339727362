"""HTTP routes of follow-ups: create, list (overdue ones first, or only them), read, change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from copilot.api.deps import IncidentStoreDep
from copilot.followups import schemas as s
from copilot.followups import service
from copilot.followups.service import FollowUpListener

router = APIRouter(prefix="/v1", tags=["follow-ups"])


def get_follow_up_listeners(request: Request) -> list[FollowUpListener]:
    """Who hears of a created or changed follow-up (the webhook dispatcher, when configured)."""
    listeners: list[FollowUpListener] = getattr(request.app.state, "follow_up_listeners", [])
    return listeners


ListenersDep = Annotated[list[FollowUpListener], Depends(get_follow_up_listeners)]


@router.post("/follow-ups", response_model=s.FollowUp, status_code=201)
def create(body: s.FollowUpCreate, store: IncidentStoreDep, listeners: ListenersDep) -> s.FollowUp:
    return service.create(store=store, request=body, listeners=listeners)


@router.get("/follow-ups", response_model=s.FollowUpList)
def list_follow_ups(
    store: IncidentStoreDep,
    status: s.FollowUpStatus | None = None,
    overdue: bool = False,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> s.FollowUpList:
    return service.list_follow_ups(
        store=store,
        status=status,
        overdue=overdue,
        incident_id=incident,
        owner=owner,
        team=team,
        limit=limit,
    )


@router.get("/follow-ups/{follow_up_id}", response_model=s.FollowUp)
def get(follow_up_id: str, store: IncidentStoreDep) -> s.FollowUp:
    return service.get(store=store, follow_up_id=follow_up_id)


@router.patch("/follow-ups/{follow_up_id}", response_model=s.FollowUp)
def update(
    follow_up_id: str, body: s.FollowUpPatch, store: IncidentStoreDep, listeners: ListenersDep
) -> s.FollowUp:
    return service.update(store=store, follow_up_id=follow_up_id, patch=body, listeners=listeners)

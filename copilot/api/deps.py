"""Every FastAPI dependency provider, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from copilot.assist.compose import Composer
from copilot.assist.service import composer_for
from copilot.errors import RetrievalUnavailable
from copilot.incidents.db import IncidentStore, IncidentStoreUnavailable
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None:
        raise RetrievalUnavailable("the knowledge base is not loaded yet; try again shortly")
    return kb


def get_incident_store(request: Request) -> IncidentStore:
    store: IncidentStore | None = getattr(request.app.state, "incidents", None)
    if store is None:
        raise IncidentStoreUnavailable("the incident store is not open yet; try again shortly")
    return store


def get_composer(request: Request) -> Composer:
    """The extractive composer, or one over the configured chat model."""
    return composer_for(getattr(request.app.state, "chat", None))


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]
IncidentStoreDep = Annotated[IncidentStore, Depends(get_incident_store)]
ComposerDep = Annotated[Composer, Depends(get_composer)]

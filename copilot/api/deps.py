"""Every FastAPI dependency provider, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from copilot.errors import RetrievalUnavailable
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


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]

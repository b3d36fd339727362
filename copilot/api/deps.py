"""Every FastAPI dependency provider, as Annotated aliases."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request

from copilot.assist.compose import Composer
from copilot.assist.service import composer_for
from copilot.errors import ConfigError, RetrievalUnavailable
from copilot.incidents.db import IncidentStore, IncidentStoreUnavailable
from copilot.incidents.schemas import ServiceWarning
from copilot.incidents.service import ServiceCheck, service_warnings
from copilot.knowledge.store import KnowledgeBase
from copilot.llm.base import ChatModel
from copilot.security.audit import AuditLog, Auditor
from copilot.security.auth import ANONYMOUS, Principal
from copilot.security.keys import KeyStore
from copilot.settings import Settings
from copilot.status.config import StatusConfig, config_dir
from copilot.statuspage import config as statuspage_config

log = logging.getLogger(__name__)


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


def get_optional_kb(request: Request) -> KnowledgeBase | None:
    """The knowledge base when it is loaded; None for work that is useful without it."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    return kb


def get_chat(request: Request) -> ChatModel | None:
    """The configured chat model, or None for the embedded (template) composer."""
    chat: ChatModel | None = getattr(request.app.state, "chat", None)
    return chat


def get_status_config(request: Request) -> StatusConfig:
    """The status-update catalog and templates, loaded once per app."""
    config: StatusConfig | None = getattr(request.app.state, "status_config", None)
    if config is None:
        config = StatusConfig.load(config_dir(get_app_settings(request).data_dir))
        request.app.state.status_config = config
    return config


STATUS_PAGE_TTL_S = 30.0


def get_status_page(request: Request) -> statuspage_config.PageConfig:
    """The public status page's components: the catalog's public entities when it has any, else
    the components file; read again after STATUS_PAGE_TTL_S (a catalog import changes them)."""
    cached = getattr(request.app.state, "status_page", None)
    now = time.monotonic()
    if cached is not None and now - cached[1] < STATUS_PAGE_TTL_S:
        page: statuspage_config.PageConfig = cached[0]
        return page
    store = get_incident_store(request)
    try:
        page = statuspage_config.current(store.db, get_app_settings(request).status_components)
    except ConfigError as exc:
        # The file was edited into something unusable since it was last read: keep serving
        # what it said before (and say why in the log); with nothing before, a 503.
        log.error("status page components not reloaded: %s", exc)
        if cached is None:
            raise statuspage_config.ComponentsUnavailable(str(exc)) from None
        page = cached[0]
    request.app.state.status_page = (page, now)
    return page


def get_service_check(request: Request) -> ServiceCheck:
    """Warnings for an incident's services the service catalog does not know (none without a
    catalog). A failed look-up costs the warnings, never the declaration it follows."""
    store = get_incident_store(request)

    def check(services: Sequence[str]) -> list[ServiceWarning]:
        from copilot.catalog.lookup import unknown

        try:
            return service_warnings(unknown(store.db, services))
        except Exception:
            log.exception("the service catalog could not check the incident's services")
            return []

    return check


def get_principal(request: Request) -> Principal:
    """The caller the auth middleware identified; `anonymous` when no key was needed."""
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def get_key_store(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def get_audit_log(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


def get_auditor(request: Request) -> Auditor:
    """Records copilot outputs for this request's caller (see copilot.security.audit)."""
    return Auditor(
        audit=get_audit_log(request),
        incidents=getattr(request.app.state, "incidents", None),
        who=get_principal(request).name,
        request_id=getattr(request.state, "request_id", None),
    )


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]
IncidentStoreDep = Annotated[IncidentStore, Depends(get_incident_store)]
ComposerDep = Annotated[Composer, Depends(get_composer)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
KeyStoreDep = Annotated[KeyStore, Depends(get_key_store)]
AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]
AuditorDep = Annotated[Auditor, Depends(get_auditor)]
OptionalKnowledgeBaseDep = Annotated[KnowledgeBase | None, Depends(get_optional_kb)]
ChatDep = Annotated[ChatModel | None, Depends(get_chat)]
StatusConfigDep = Annotated[StatusConfig, Depends(get_status_config)]
ServiceCheckDep = Annotated[ServiceCheck, Depends(get_service_check)]
StatusPageDep = Annotated[statuspage_config.PageConfig, Depends(get_status_page)]

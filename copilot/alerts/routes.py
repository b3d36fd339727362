"""HTTP routes of alerts in: the two webhooks (scope `alerts`), alerts and alert groups."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from copilot.alerts import intake, service
from copilot.alerts import schemas as s
from copilot.alerts.rules import RuleSet, load_rules
from copilot.alerts.runbooks import RunbookFinder
from copilot.api.deps import IncidentStoreDep, SettingsDep
from copilot.errors import InvalidInput
from copilot.incidents import schemas as inc_schemas
from copilot.knowledge.store import KnowledgeBase

log = logging.getLogger("copilot.alerts")
router = APIRouter(prefix="/v1", tags=["alerts"])
_lock = threading.Lock()


def get_rules(request: Request) -> RuleSet:
    """The correlation rules (COPILOT_ALERT_RULES or the packaged ones), loaded once per app."""
    rules: RuleSet | None = getattr(request.app.state, "alert_rules", None)
    if rules is None:
        rules = load_rules(request.app.state.settings.alert_rules)
        request.app.state.alert_rules = rules
    return rules


def get_finder(request: Request) -> RunbookFinder | None:
    """Runbook look-ups over the loaded knowledge base; None before it is loaded."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None:
        return None
    with _lock:
        finder: RunbookFinder | None = getattr(request.app.state, "alert_runbooks", None)
        if finder is None or finder.kb is not kb:
            finder = RunbookFinder(kb)
            request.app.state.alert_runbooks = finder
    return finder


RulesDep = Annotated[RuleSet, Depends(get_rules)]
FinderDep = Annotated[RunbookFinder | None, Depends(get_finder)]


def _apply(
    request: Request,
    store: Any,
    rules: RuleSet,
    finder: RunbookFinder | None,
    payload: s.AlertmanagerPayload,
    source: str,
) -> s.IntakeResult:
    notification = intake.normalise(payload, source=source)
    result = service.apply(
        store=store,
        rules=rules,
        notification=notification,
        catalog=service.catalog_for(store),
        finder=finder,
    )
    _announce(request, store, rules, finder, result.candidates)
    return result


def _announce(
    request: Request, store: Any, rules: RuleSet, finder: RunbookFinder | None, ids: list[int]
) -> None:
    """Hand new candidates' (screened) views to the listeners, such as the Slack poster; they
    queue and return, and a failing one never fails the intake that was applied."""
    listeners: list[Callable[[list[s.GroupView]], None]] = getattr(
        request.app.state, "alert_candidate_listeners", []
    )
    if not listeners or not ids:
        return
    try:
        views = [
            service.get_group(store=store, rules=rules, group_id=i, finder=finder) for i in ids
        ]
        for listener in listeners:
            listener(views)
    except Exception:  # an announcement is an aid: the alerts are applied already
        log.exception("new alert candidates %s not announced", ids)


@router.post("/alerts/alertmanager", response_model=s.IntakeResult)
def alertmanager(
    request: Request,
    body: s.AlertmanagerPayload,
    store: IncidentStoreDep,
    rules: RulesDep,
    finder: FinderDep,
) -> s.IntakeResult:
    """Prometheus Alertmanager's webhook (version 4). Bearer key with the `alerts` scope."""
    return _apply(request, store, rules, finder, body, "alertmanager")


async def grafana_signature(request: Request, settings: SettingsDep) -> None:
    """With COPILOT_GRAFANA_WEBHOOK_SECRET set, the body must carry Grafana's HMAC signature.

    Dependencies run before the body is validated, so an unsigned request learns nothing of
    what the schema wants (only malformed JSON is refused earlier, by FastAPI).
    """
    secret = settings.grafana_webhook_secret
    intake.check_grafana_signature(
        secret=secret.get_secret_value() if secret else None,
        body=await request.body(),
        headers={k.lower(): v for k, v in request.headers.items()},
    )


@router.post(
    "/alerts/grafana",
    response_model=s.IntakeResult,
    dependencies=[Depends(grafana_signature)],
)
def grafana(
    request: Request,
    body: s.GrafanaPayload,
    store: IncidentStoreDep,
    rules: RulesDep,
    finder: FinderDep,
) -> s.IntakeResult:
    """Grafana Alerting's webhook (version 1), its HMAC signature checked when a secret is set."""
    return _apply(request, store, rules, finder, body, "grafana")


@router.get("/alerts", response_model=s.AlertList)
def list_alerts(
    store: IncidentStoreDep,
    status: s.AlertStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> s.AlertList:
    return s.AlertList(items=service.list_alerts(store=store, status=status, limit=limit))


@router.get("/alerts/{fingerprint}", response_model=s.AlertView)
def get_alert(fingerprint: str, store: IncidentStoreDep) -> s.AlertView:
    return service.get_alert(store=store, fingerprint=fingerprint)


@router.get("/alert-groups", response_model=s.GroupList)
def list_groups(
    store: IncidentStoreDep,
    rules: RulesDep,
    finder: FinderDep,
    status: s.GroupStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> s.GroupList:
    """Alert groups, newest activity first; `status=candidate` for the ones to act on."""
    return s.GroupList(
        items=service.list_groups(
            store=store, rules=rules, finder=finder, status=status, limit=limit, similar=True
        )
    )


def _group_id(group_id: str) -> int:
    if not group_id.isdigit() or len(group_id) > 9:
        raise InvalidInput("alert group ids are whole numbers, e.g. 12")
    return int(group_id)


@router.get("/alert-groups/{group_id}", response_model=s.GroupView)
def get_group(
    group_id: str, store: IncidentStoreDep, rules: RulesDep, finder: FinderDep
) -> s.GroupView:
    return service.get_group(
        store=store, rules=rules, group_id=_group_id(group_id), finder=finder, similar=True
    )


@router.get("/incidents/{incident_id}/alerts", response_model=s.IncidentAlerts)
def incident_alerts(incident_id: str, store: IncidentStoreDep) -> s.IncidentAlerts:
    """The incident's linked alerts counted, and whether every one has resolved (the incident
    page says so; resolving the incident stays a person's call)."""
    return service.incident_alerts(store=store, incident_id=incident_id)


@router.post(
    "/alert-groups/{group_id}/declare", response_model=inc_schemas.Incident, status_code=201
)
def declare(
    group_id: str,
    store: IncidentStoreDep,
    rules: RulesDep,
    finder: FinderDep,
    body: s.DeclareRequest | None = None,
) -> inc_schemas.Incident:
    """Declare an incident from the group in one call (title, severity, services, times)."""
    return service.declare(
        store=store,
        rules=rules,
        group_id=_group_id(group_id),
        request=body or s.DeclareRequest(),
        finder=finder,
    )


@router.post("/alert-groups/{group_id}/attach", response_model=s.GroupView)
def attach(
    group_id: str, body: s.AttachRequest, store: IncidentStoreDep, rules: RulesDep
) -> s.GroupView:
    return service.attach(store=store, rules=rules, group_id=_group_id(group_id), request=body)


@router.post("/alert-groups/{group_id}/reopen", response_model=s.GroupView)
def reopen(
    group_id: str, store: IncidentStoreDep, rules: RulesDep, body: s.ReopenRequest | None = None
) -> s.GroupView:
    """Reopen the incident the group proposes (its `reopen`) and attach the group to it."""
    return service.reopen(
        store=store, rules=rules, group_id=_group_id(group_id), request=body or s.ReopenRequest()
    )


@router.post("/alert-groups/{group_id}/dismiss", response_model=s.GroupView)
def dismiss(
    group_id: str, body: s.DismissRequest, store: IncidentStoreDep, rules: RulesDep
) -> s.GroupView:
    return service.dismiss(store=store, rules=rules, group_id=_group_id(group_id), request=body)


class HeartbeatCollector(Collector):
    """`copilot_alert_heartbeat_age_seconds{alertname}`: seconds since a heartbeat was seen."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "copilot_alert_heartbeat_age_seconds",
            "Seconds since the last notification carrying this heartbeat (Watchdog) alert",
            labels=["alertname"],
        )
        for name, age in sorted(service.heartbeat_ages(datetime.now(UTC)).items()):
            family.add_metric([name[:100]], age)
        yield family


def _register() -> None:
    # Registered once per process (tests build many apps from one import).
    with contextlib.suppress(ValueError):
        REGISTRY.register(HeartbeatCollector())


_register()

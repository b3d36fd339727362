"""HTTP routes of incidents, their timeline and metrics, and triage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from copilot.api.deps import IncidentStoreDep, ServiceCheckDep
from copilot.incidents import schemas as s
from copilot.incidents import service
from copilot.incidents.triage import triage as run_triage

router = APIRouter(prefix="/v1", tags=["incidents"])


@router.post("/incidents", response_model=s.Incident, status_code=201)
def declare(body: s.IncidentCreate, store: IncidentStoreDep, check: ServiceCheckDep) -> s.Incident:
    # Declared first, whatever the catalog says: a name it lacks is a warning, not a refusal.
    return _checked(service.declare(store=store, request=body), check)


def _checked(incident: s.Incident, check: service.ServiceCheck) -> s.Incident:
    warnings = check(incident.services) if incident.services else []
    return incident.model_copy(update={"warnings": warnings}) if warnings else incident


@router.get("/incidents", response_model=s.IncidentList)
def list_incidents(
    store: IncidentStoreDep,
    status: s.Status | None = None,
    severity: Annotated[str | None, Query(max_length=20)] = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 100,
) -> s.IncidentList:
    incidents = service.list_incidents(
        store=store, status=status, severity=severity, service=service_name, limit=limit
    )
    return s.IncidentList(incidents=incidents)


@router.get("/incidents/{incident_id}", response_model=s.Incident)
def get_incident(incident_id: str, store: IncidentStoreDep, check: ServiceCheckDep) -> s.Incident:
    return _checked(service.get_incident(store=store, incident_id=incident_id), check)


@router.patch("/incidents/{incident_id}", response_model=s.Incident)
def update_incident(
    incident_id: str, body: s.IncidentPatch, store: IncidentStoreDep, check: ServiceCheckDep
) -> s.Incident:
    return _checked(
        service.update_incident(store=store, incident_id=incident_id, patch=body), check
    )


@router.post("/incidents/{incident_id}/events", response_model=s.Event, status_code=201)
def add_event(incident_id: str, body: s.EventCreate, store: IncidentStoreDep) -> s.Event:
    return service.add_event(store=store, incident_id=incident_id, event=body)


@router.get("/incidents/{incident_id}/events", response_model=s.EventList)
def list_events(
    incident_id: str,
    store: IncidentStoreDep,
    kind: Annotated[str | None, Query(max_length=30)] = None,
) -> s.EventList:
    events = service.list_events(store=store, incident_id=incident_id, kind=kind)
    return s.EventList(incident_id=service.canonical_id(incident_id), events=events)


@router.get("/incidents/{incident_id}/metrics", response_model=s.IncidentMetrics)
def incident_metrics(incident_id: str, store: IncidentStoreDep) -> s.IncidentMetrics:
    return service.incident_metrics(store=store, incident_id=incident_id)


@router.get("/metrics/incidents", response_model=s.AggregateMetrics)
def aggregate_metrics(
    store: IncidentStoreDep,
    since: Annotated[
        str | None, Query(max_length=40, description="30d, 12h, 2w, or an ISO date/date-time")
    ] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
) -> s.AggregateMetrics:
    return service.aggregate_metrics(store=store, since=since, until=until)


@router.post("/triage", response_model=s.TriageResponse)
def triage(body: s.TriageRequest, store: IncidentStoreDep) -> s.TriageResponse:
    return run_triage(taxonomy=store.taxonomy, request=body)

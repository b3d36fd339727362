"""HTTP routes of insights: the report as JSON, CSV, and an HTML page with its charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from copilot.api.deps import IncidentStoreDep
from copilot.incidents.db import IncidentStore
from copilot.insights import report as render
from copilot.insights import schemas as s
from copilot.insights import service

router = APIRouter(tags=["insights"])

Since = Annotated[str, Query(max_length=40, description="90d, 12w, or an ISO date/date-time")]
Until = Annotated[str | None, Query(max_length=40)]
Levels = Annotated[list[str], Query(max_length=10, description="SEV1..SEV4 (or aliases)")]
Services = Annotated[list[str], Query(alias="service", max_length=20)]
Zone = Annotated[str, Query(max_length=60, description="IANA zone for the load figures")]


@dataclass(frozen=True)
class Filters:
    """The period and filters every form of the report takes (JSON, CSV, HTML)."""

    since: str
    until: str | None
    severity: list[str]
    service_name: list[str]
    timezone: str


def _filters(
    since: Since = "90d",
    until: Until = None,
    severity: Levels = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    service_name: Services = [],  # noqa: B006
    timezone: Zone = "UTC",
) -> Filters:
    return Filters(since, until, severity, service_name, timezone)


FiltersDep = Annotated[Filters, Depends(_filters)]


def compute(
    request: Request,
    store: IncidentStore,
    filters: Filters,
    *,
    clusters: bool,
    team: str | None = None,
    method: str = "keywords",
) -> s.Insights:
    query = service.make_query(
        store,
        since=filters.since,
        until=filters.until,
        severity=filters.severity,
        service=filters.service_name,
        timezone=filters.timezone,
        team=team,
    )
    kb: Any = getattr(request.app.state, "kb", None)
    # Keywords by default: on the dfds history they group incidents far closer to the topic
    # labels than MiniLM sentence vectors do (python -m evals.insights clusters).
    embedder = getattr(kb, "embedder", None) if kb is not None and method == "embeddings" else None
    return service.insights(
        store=store, query=query, embedder=embedder, kb=kb, with_clusters=clusters
    )


@router.get("/v1/insights", response_model=s.Insights)
def insights(
    request: Request,
    store: IncidentStoreDep,
    filters: FiltersDep,
    clusters: bool = True,
    team: Annotated[str | None, Query(max_length=200, description="catalog owner")] = None,
    method: Literal["keywords", "embeddings"] = "keywords",
) -> s.Insights:
    return compute(request, store, filters, clusters=clusters, team=team, method=method)


@router.get("/v1/insights.csv", response_class=PlainTextResponse)
def insights_csv(
    request: Request, store: IncidentStoreDep, filters: FiltersDep
) -> PlainTextResponse:
    report = compute(request, store, filters, clusters=True)
    return PlainTextResponse(
        render.csv_text(report, store.taxonomy.ids),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="insights.csv"'},
    )


@router.get("/v1/insights.html", response_class=HTMLResponse)
def insights_page(request: Request, store: IncidentStoreDep, filters: FiltersDep) -> HTMLResponse:
    report = compute(request, store, filters, clusters=True)
    return HTMLResponse(render.html_document(report, store.taxonomy.ids))

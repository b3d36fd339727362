"""HTTP routes: the public page under /status (no key: it is outside /v1, which the auth middleware
guards) and maintenance windows under /v1/status-page (a key with `respond` to write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from copilot.api.deps import IncidentStoreDep, StatusConfigDep, StatusPageDep
from copilot.statuspage import render, service
from copilot.statuspage import schemas as s

# A page with no script, no inline style, no frames, no forms: only its own stylesheet.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# Short, so a published update shows within half a minute through any cache in front.
CACHE = "public, max-age=30"


def public_headers(response: Response, *, html: bool = False) -> None:
    response.headers["Cache-Control"] = CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if html:
        response.headers["Content-Security-Policy"] = CSP
    else:
        # Statuspage's API answers any origin, so dashboards and widgets can read it.
        response.headers["Access-Control-Allow-Origin"] = "*"


pages = APIRouter(prefix="/status", tags=["status page"])


def _state(store: IncidentStoreDep, page: StatusPageDep) -> service.PageState:
    return service.build_state(store=store, config=page)


@pages.get("", include_in_schema=False)
@pages.get("/", summary="The public status page (HTML)")
def status_page(store: IncidentStoreDep, page: StatusPageDep) -> Response:
    response = Response(
        render.html(_state(store, page), root="/status/"), media_type="text/html; charset=utf-8"
    )
    public_headers(response, html=True)
    return response


@pages.get("/status.css", include_in_schema=False)
def stylesheet() -> Response:
    response = Response(render.css_text(), media_type="text/css; charset=utf-8")
    public_headers(response, html=True)
    return response


@pages.get("/history.atom", summary="Atom feed of published updates")
def feed(request: Request, store: IncidentStoreDep, page: StatusPageDep) -> Response:
    state = _state(store, page)
    self_url = (page.url.rstrip("/") + "/history.atom") if page.url else str(request.url)
    response = Response(render.atom(state, self_url=self_url), media_type="application/atom+xml")
    public_headers(response)
    return response


@pages.get("/api/v2/status.json", response_model=s.StatusResponse)
def status_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.StatusResponse:
    public_headers(response)
    return render.status_response(_state(store, page))


@pages.get("/api/v2/summary.json", response_model=s.SummaryResponse)
def summary_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.SummaryResponse:
    public_headers(response)
    return render.summary(_state(store, page))


@pages.get("/api/v2/components.json", response_model=s.ComponentsResponse)
def components_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.ComponentsResponse:
    public_headers(response)
    return render.components_response(_state(store, page))


@pages.get("/api/v2/incidents.json", response_model=s.IncidentsResponse)
def incidents_json(
    store: IncidentStoreDep,
    page: StatusPageDep,
    response: Response,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> s.IncidentsResponse:
    """The 50 most recent incidents; `?page=2` for the 50 before them."""
    public_headers(response)
    return render.incidents_page(_state(store, page), page_number)


@pages.get("/api/v2/incidents/unresolved.json", response_model=s.IncidentsResponse)
def unresolved_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.IncidentsResponse:
    public_headers(response)
    return render.unresolved(_state(store, page))


@pages.get("/api/v2/scheduled-maintenances.json", response_model=s.MaintenancesResponse)
def maintenances_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.MaintenancesResponse:
    public_headers(response)
    return render.maintenances(_state(store, page))


@pages.get("/api/v2/scheduled-maintenances/upcoming.json", response_model=s.MaintenancesResponse)
def upcoming_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.MaintenancesResponse:
    public_headers(response)
    return render.maintenances(_state(store, page), "upcoming")


@pages.get("/api/v2/scheduled-maintenances/active.json", response_model=s.MaintenancesResponse)
def active_json(
    store: IncidentStoreDep, page: StatusPageDep, response: Response
) -> s.MaintenancesResponse:
    public_headers(response)
    return render.maintenances(_state(store, page), "active")


api = APIRouter(prefix="/v1/status-page/maintenances", tags=["status page"])


@api.post("", response_model=s.MaintenanceOut, status_code=201)
def create_maintenance(
    body: s.MaintenanceCreate,
    store: IncidentStoreDep,
    page: StatusPageDep,
    config: StatusConfigDep,
) -> s.MaintenanceOut:
    return service.create_maintenance(
        store=store, config=page, catalog=config.catalog, request=body
    )


@api.get("", response_model=s.MaintenanceList)
def list_maintenances(
    store: IncidentStoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> s.MaintenanceList:
    return service.list_maintenances(store=store, limit=limit, offset=offset)


@api.get("/{maintenance_id}", response_model=s.MaintenanceOut)
def get_maintenance(maintenance_id: str, store: IncidentStoreDep) -> s.MaintenanceOut:
    return service.get_maintenance(store=store, maintenance_id=maintenance_id)


@api.patch("/{maintenance_id}", response_model=s.MaintenanceOut)
def update_maintenance(
    maintenance_id: str,
    body: s.MaintenanceUpdateRequest,
    store: IncidentStoreDep,
    page: StatusPageDep,
    config: StatusConfigDep,
) -> s.MaintenanceOut:
    return service.update_maintenance(
        store=store,
        config=page,
        catalog=config.catalog,
        maintenance_id=maintenance_id,
        request=body,
    )

"""HTTP routes: the public page under /status (no key: it is outside /v1, which the auth middleware
guards) and maintenance windows under /v1/status-page (a key with `respond` to write)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from copilot.api.deps import IncidentStoreDep, StatusConfigDep, StatusPageDep
from copilot.statuspage import cache, maintenance, render, service
from copilot.statuspage import schemas as s

# A page with no script, no inline style, no frames, no forms: only its own stylesheet.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
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


def _get(path: str, **kwargs: Any) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """`@_get(path)` that answers HEAD too (uptime checkers and caches send it).

    HEAD is registered beside GET, left out of the OpenAPI document (one operation per path),
    and answered with GET's status and headers and no body.
    """

    def register(endpoint: Callable[..., Response]) -> Callable[..., Response]:
        pages.get(path, **kwargs)(endpoint)

        @functools.wraps(endpoint)
        def head(*args: Any, **kw: Any) -> Response:
            return _bodiless(endpoint(*args, **kw))

        pages.head(path, include_in_schema=False)(head)
        return endpoint

    return register


def _bodiless(response: Response) -> Response:
    """`response`'s status and headers (Content-Length still GET's), without its body."""
    return Response(status_code=response.status_code, headers=dict(response.headers))


def _cache(request: Request) -> cache.PageCache:
    found: cache.PageCache | None = getattr(request.app.state, "status_page_cache", None)
    if found is None:
        found = request.app.state.status_page_cache = cache.PageCache()
    return found


class _Page:
    """The page's state and renderings, from the cache while their sources are unchanged."""

    def __init__(self, request: Request, store: IncidentStoreDep, page: StatusPageDep) -> None:
        self.cache = _cache(request)
        self.key = cache.cache_key(store, page)
        self.store, self.config = store, page

    def state(self) -> service.PageState:
        state: service.PageState = self.cache.get(
            self.key, "state", lambda: service.build_state(store=self.store, config=self.config)
        )
        return state

    def rendered(self, kind: str, make: Callable[[service.PageState], Any]) -> Any:
        return self.cache.get(self.key, kind, lambda: make(self.state()))


PageDep = Annotated[_Page, Depends(_Page)]


class AtomResponse(Response):
    """So that the OpenAPI document names the feed's media type, not JSON."""

    media_type = "application/atom+xml"


def _json(page: _Page, kind: str, make: Callable[[service.PageState], BaseModel]) -> Response:
    body = page.rendered(kind, lambda state: make(state).model_dump_json().encode())
    response = Response(body, media_type="application/json")
    public_headers(response)
    return response


@_get("", include_in_schema=False)
@_get("/", summary="The public status page (HTML)", response_class=HTMLResponse)
def status_page(page: PageDep) -> Response:
    body = page.rendered("html", lambda state: render.html(state, root="/status/"))
    response = Response(body, media_type="text/html; charset=utf-8")
    public_headers(response, html=True)
    return response


@_get("/status.css", include_in_schema=False)
def stylesheet() -> Response:
    response = Response(render.css_text(), media_type="text/css; charset=utf-8")
    public_headers(response, html=True)
    return response


@_get("/history.atom", summary="Atom feed of published updates", response_class=AtomResponse)
def feed(request: Request, page: PageDep) -> Response:
    url = page.config.url
    self_url = (url.rstrip("/") + "/history.atom") if url else str(request.url)
    body = page.rendered(f"atom {self_url}", lambda state: render.atom(state, self_url=self_url))
    response = Response(body, media_type="application/atom+xml")
    public_headers(response)
    return response


@_get("/api/v2/status.json", response_model=s.StatusResponse)
def status_json(page: PageDep) -> Response:
    return _json(page, "status", render.status_response)


@_get("/api/v2/summary.json", response_model=s.SummaryResponse)
def summary_json(page: PageDep) -> Response:
    return _json(page, "summary", render.summary)


@_get("/api/v2/components.json", response_model=s.ComponentsResponse)
def components_json(page: PageDep) -> Response:
    return _json(page, "components", render.components_response)


@_get("/api/v2/incidents.json", response_model=s.IncidentsResponse)
def incidents_json(
    page: PageDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The 50 most recent incidents; `?page=2` for the 50 before them."""
    return _json(
        page, f"incidents {page_number}", lambda st: render.incidents_page(st, page_number)
    )


@_get("/api/v2/incidents/unresolved.json", response_model=s.IncidentsResponse)
def unresolved_json(page: PageDep) -> Response:
    return _json(page, "unresolved", render.unresolved)


@_get("/api/v2/scheduled-maintenances.json", response_model=s.MaintenancesResponse)
def maintenances_json(page: PageDep) -> Response:
    return _json(page, "maintenances", render.maintenances)


@_get("/api/v2/scheduled-maintenances/upcoming.json", response_model=s.MaintenancesResponse)
def upcoming_json(page: PageDep) -> Response:
    return _json(page, "upcoming", lambda st: render.maintenances(st, "upcoming"))


@_get("/api/v2/scheduled-maintenances/active.json", response_model=s.MaintenancesResponse)
def active_json(page: PageDep) -> Response:
    return _json(page, "active", lambda st: render.maintenances(st, "active"))


api = APIRouter(prefix="/v1/status-page/maintenances", tags=["status page"])


def _on_change(request: Request) -> maintenance.ChangeListener | None:
    """Who hears of a window's changes: the page's subscribers, while the app serves."""
    notifier = getattr(request.app.state, "status_page_notifier", None)
    return notifier.on_maintenance if notifier is not None else None


OnChangeDep = Annotated[maintenance.ChangeListener | None, Depends(_on_change)]


@api.post("", response_model=s.MaintenanceOut, status_code=201)
def create_maintenance(
    body: s.MaintenanceCreate,
    store: IncidentStoreDep,
    page: StatusPageDep,
    config: StatusConfigDep,
    on_change: OnChangeDep,
) -> s.MaintenanceOut:
    return maintenance.create_maintenance(
        store=store, config=page, catalog=config.catalog, request=body, on_change=on_change
    )


@api.get("", response_model=s.MaintenanceList)
def list_maintenances(
    store: IncidentStoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> s.MaintenanceList:
    return maintenance.list_maintenances(store=store, limit=limit, offset=offset)


@api.get("/{maintenance_id}", response_model=s.MaintenanceOut)
def get_maintenance(maintenance_id: str, store: IncidentStoreDep) -> s.MaintenanceOut:
    return maintenance.get_maintenance(store=store, maintenance_id=maintenance_id)


@api.patch("/{maintenance_id}", response_model=s.MaintenanceOut)
def update_maintenance(
    maintenance_id: str,
    body: s.MaintenanceUpdateRequest,
    store: IncidentStoreDep,
    page: StatusPageDep,
    config: StatusConfigDep,
    on_change: OnChangeDep,
) -> s.MaintenanceOut:
    return maintenance.update_maintenance(
        store=store,
        config=page,
        catalog=config.catalog,
        maintenance_id=maintenance_id,
        request=body,
        on_change=on_change,
    )

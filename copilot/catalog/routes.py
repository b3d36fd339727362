"""HTTP routes of the catalog: import (admin), list and show entities, blast radius.

The catalog lives in the one database, which the app opens with the incident store
(`app.state.incidents.db`). Import paths are confined to the ingest roots exactly as
`POST /v1/admin/ingest` confines them (copilot.knowledge.admin.resolve_paths).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from copilot.api.deps import IncidentStoreDep, SettingsDep, get_incident_store
from copilot.catalog import impact as views
from copilot.catalog import render, service
from copilot.catalog import schemas as s
from copilot.db import Database
from copilot.errors import InvalidInput
from copilot.incidents import service as incidents
from copilot.knowledge.admin import resolve_paths


def get_catalog_db(request: Request) -> Database:
    return get_incident_store(request).db


CatalogDbDep = Annotated[Database, Depends(get_catalog_db)]

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.post("/admin/catalog", response_model=s.ImportResponse, tags=["admin"])
def import_catalog(
    body: s.ImportRequest, db: CatalogDbDep, settings: SettingsDep
) -> s.ImportResponse:
    """Import Backstage descriptors the server can read (inside the ingest roots). Admin scope."""
    targets = resolve_paths(body.paths, settings.allowed_ingest_roots)
    report = service.import_paths(db=db, paths=targets)
    return views.import_response(report)


@router.get("/catalog/entities", response_model=s.EntityList)
def list_entities(
    db: CatalogDbDep,
    kind: Annotated[str | None, Query(max_length=20, description="component, api, ...")] = None,
) -> s.EntityList:
    return views.list_entities(db=db, kind=kind)


@router.get("/catalog/entities/{name}", response_model=s.EntityDetail)
def show_entity(name: str, db: CatalogDbDep) -> s.EntityDetail:
    """One entity by ref (`component:default/checkout-api`), name, title or alias."""
    return views.show(db=db, name=name[:400])


@router.get("/catalog/impact", response_model=s.Impact)
def impact(
    db: CatalogDbDep,
    name: Annotated[
        list[str],
        Query(min_length=1, max_length=200, description="failing entities: ref, name or alias"),
    ],
) -> s.Impact:
    """The blast radius of a set of failing entities (`?name=a&name=b`); a read."""
    if any(len(n) > 400 or not n.strip() for n in name):
        raise InvalidInput("name: each name must be 1 to 400 characters")
    return views.blast_radius(db=db, names=[n.strip() for n in name])


@router.get("/incidents/{incident_id}/blast-radius", response_model=s.Impact)
def incident_blast_radius(incident_id: str, store: IncidentStoreDep) -> s.Impact:
    """The blast radius of an incident's services."""
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    return views.blast_radius(db=store.db, names=incident.services)


@router.get(
    "/incidents/{incident_id}/blast-radius.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def incident_blast_radius_svg(incident_id: str, store: IncidentStoreDep) -> Response:
    """The blast radius as an SVG laid out by Graphviz's dot (503 when dot is not installed)."""
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    result = views.blast_radius(db=store.db, names=incident.services)
    return Response(render.svg(result), media_type="image/svg+xml")

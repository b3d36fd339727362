"""Probe and scrape endpoints; they stay open for orchestrators and Prometheus."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])
log = logging.getLogger("copilot.api")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    kb = getattr(request.app.state, "kb", None)
    checks = {"model": kb is not None, "store": False, "database": False, "vectors": False}
    if kb is not None:
        # The knowledge base's database (the SQLite file, or PostgreSQL shared by replicas) and
        # its vector store (embedded Chroma, or the Chroma server), each reported on its own.
        checks.update(kb.health())
        checks["store"] = checks["database"] and checks["vectors"]
    ready = all(checks.values())
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not ready", "checks": checks},
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

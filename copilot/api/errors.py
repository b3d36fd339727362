"""Map errors to plain JSON bodies: a message for the user, details only in the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from copilot.db import DATABASE_DOWN, is_connection_error
from copilot.errors import CopilotError

log = logging.getLogger("copilot.api")


def _describe(error: dict[str, Any], body: Any) -> dict[str, Any]:
    # The submitted value is left out on purpose: it may hold a secret.
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    kind = error.get("type")
    if kind == "json_invalid":
        return _json_error(error, body)
    if not loc and kind == "missing":
        return {"field": "body", "message": "the request needs a JSON body"}
    if not loc and kind in {"model_attributes_type", "dict_type"}:
        return {
            "field": "body",
            "message": "the body must be a JSON object, sent as Content-Type: application/json",
        }
    return {"field": ".".join(loc) or "body", "message": error.get("msg", "invalid value")}


def _json_error(error: dict[str, Any], body: Any) -> dict[str, Any]:
    """Say where the JSON breaks (line, column), never what it holds."""
    # json's own reasons are fixed phrases ("Expecting ',' delimiter") that quote nothing.
    reason = str((error.get("ctx") or {}).get("error") or "").strip()[:80]
    described: dict[str, Any] = {"field": "body", "message": "the body is not valid JSON"}
    if reason:
        described["message"] += f": {reason}"
    loc = error.get("loc", ())
    offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    if offset is not None and isinstance(body, str) and 0 <= offset <= len(body):
        line = body.count("\n", 0, offset) + 1
        column = offset - body.rfind("\n", 0, offset)
        described["message"] += f" (line {line}, column {column})"
        described["line"], described["column"] = line, column
    return described


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CopilotError)
    async def _copilot_error(_: Request, exc: CopilotError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("request failed: %s", exc)
        if exc.status_code == 404:
            # The full message names what was asked for; the client already knows it.
            log.debug("not found: %s", exc)
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.public_message})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content={"detail": [_describe(e, exc.body) for e in exc.errors()]}
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if is_connection_error(exc):
            # PostgreSQL down or restarting (or SQLite's busy timeout): the request may succeed
            # when retried; the pool's pre-ping replaces dead connections once it is back.
            reason = str(exc.orig or type(exc).__name__).strip().splitlines()
            log.error("database unavailable: %s", reason[0] if reason else type(exc).__name__)
            return JSONResponse(status_code=503, content={"detail": DATABASE_DOWN})
        log.exception("unexpected database error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; see the log"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; see the log"})

"""Map errors to plain JSON bodies: a message for the user, details only in the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from copilot.errors import CopilotError

log = logging.getLogger("copilot.api")


def _describe(error: dict[str, Any]) -> dict[str, Any]:
    # The submitted value is left out on purpose: it may hold a secret.
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    return {"field": ".".join(loc) or "body", "message": error.get("msg", "invalid value")}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CopilotError)
    async def _copilot_error(_: Request, exc: CopilotError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("request failed: %s", exc)
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content={"detail": [_describe(e) for e in exc.errors()]}
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; see the log"})

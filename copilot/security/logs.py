"""JSON logs with a request id, scrubbed of secrets and personal data before they are written.

Every line is one JSON object: `ts`, `level`, `logger`, `message`, `request_id` (when a request
is being served), any fields passed as `extra={"fields": {...}}`, and `exception` text. The
message, the fields and the exception text pass through the same redaction as questions do, plus
the copilot's own API key pattern: a secret that reaches a log call by mistake is still not
written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot.guardrails.redact import redact
from copilot.security.keys import KEY_PATTERN

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "copilot_request_id", default=None
)
REQUEST_ID_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Fields whose values are numbers, enums or ids we made: redaction would only cost time.
_SAFE_FIELDS = frozenset({"status", "duration_ms", "method", "route", "request_id", "bytes"})
access_log = logging.getLogger("copilot.access")


def scrub(text: str) -> str:
    """Text with secrets, personal data and API keys replaced."""
    return KEY_PATTERN.sub("[REDACTED:api_key]", redact(text).text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line
            message = str(record.msg)
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(message),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                if key not in line:
                    line[key] = value if key in _SAFE_FIELDS else _clean(value)
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = scrub(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger (uvicorn's too) to one JSON handler on `stream` (default stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


def new_request_id(offered: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if offered and _GOOD_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Give each request an id (X-Request-ID in and out) and write one access line for it.

    The access line names the route template, never the raw path or query string, and the
    caller's key name, never the key.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = REQUEST_ID.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            principal = state.get("principal")
            access_log.info(
                "%s %s %s",
                scope["method"],
                getattr(route, "path", "unmatched"),
                status,
                extra={
                    "fields": {
                        "method": scope["method"],
                        "route": getattr(route, "path", "unmatched"),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "who": getattr(principal, "name", None),
                    }
                },
            )
            REQUEST_ID.reset(token)

"""Authentication and scopes for everything under /v1, as one ASGI middleware.

The scope a request needs follows from its method and path, so a router added later is covered
without touching this file:

- `/v1/admin/...` needs `admin` (ingest, keys, audit, configuration);
- reads (GET, HEAD, OPTIONS) and the read-only POSTs in `READ_POSTS` need `read`;
- every other method under /v1 (incident writes, events, drafts, postmortems) needs `respond`;
- the alert webhooks in `ALERT_POSTS` need `alerts` (Alertmanager cannot sign requests: it sends
  a bearer key, which opens nothing else);
- paths outside /v1 (`/healthz`, `/readyz`, `/metrics`, the docs) are open, and so are the
  prefixes in `EXEMPT_PREFIXES`, whose routes authenticate callers themselves (Slack signs its
  requests; it has no API key to send);
- the public status page (`PUBLIC_READ_PREFIXES`: `/status` and below) is open to GET and HEAD
  even when keys exist: it shows only published public updates, and takes no writes.

With no active key the server is open, which is allowed only on a loopback bind address.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from copilot import metrics
from copilot.db import DATABASE_DOWN, is_connection_error
from copilot.errors import ConfigError
from copilot.security.keys import SCOPES, KeyStore

log = logging.getLogger("copilot.security")

API_PREFIX = "/v1"
ADMIN_PREFIX = "/v1/admin"
# POSTs that only compute an answer from what is stored: they need `read`, not `respond`.
READ_POSTS = frozenset({"/v1/search", "/v1/ask", "/v1/triage"})
# The webhooks alerting systems post to: they need `alerts`, and a key with only it opens no more.
ALERT_POSTS = frozenset({"/v1/alerts/alertmanager", "/v1/alerts/grafana"})
# Routes under /v1 that check the caller in their own way (a request signature), not by key.
EXEMPT_PREFIXES: tuple[str, ...] = ("/v1/integrations/slack/",)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Read-only pages for anyone, outside /v1: the public status page (copilot.statuspage).
PUBLIC_READ_PREFIXES: tuple[str, ...] = ("/status",)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and scopes, or `anonymous` on an open loopback server."""

    name: str
    scopes: frozenset[str]
    authenticated: bool


ANONYMOUS = Principal("anonymous", frozenset(SCOPES), authenticated=False)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def required_scope(
    method: str, path: str, *, exempt: Iterable[str] = EXEMPT_PREFIXES
) -> str | None:
    """The scope a request needs, or None when it needs no key."""
    if not _under(path, API_PREFIX) or any(path.startswith(p) for p in exempt):
        return None
    if _under(path, ADMIN_PREFIX):
        return "admin"
    if method.upper() == "POST" and path.rstrip("/") in ALERT_POSTS:
        return "alerts"
    if method.upper() in READ_METHODS or path.rstrip("/") in READ_POSTS:
        return "read"
    return "respond"


def is_public_read(method: str, path: str) -> bool:
    """A GET or HEAD of the public status page, which answers without a key."""
    return method.upper() in {"GET", "HEAD"} and any(
        _under(path.rstrip("/") or "/", prefix) for prefix in PUBLIC_READ_PREFIXES
    )


def presented_key(headers: Headers) -> str | None:
    """The key in `Authorization: Bearer <key>` or `X-API-Key: <key>`, if any."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    value = headers.get("x-api-key", "").strip()
    return value or None


def is_loopback(host: str | None) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host is None:
        return True  # an in-process app (tests, TestClient) binds nothing
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def route_path(scope: Scope) -> str:
    """The path the router matches on (without a root_path), as Starlette computes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _local_address(scope: Scope) -> str | None:
    """The IP address the connection reached; None when it is no IP (in-process, unix socket)."""
    server = scope.get("server")
    host = str(server[0]) if server else ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


def _error(status: int, detail: str, reason: str) -> JSONResponse:
    metrics.HTTP_REJECTED.labels(reason).inc()
    headers = {"WWW-Authenticate": 'Bearer realm="copilot"'} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class AuthMiddleware:
    """Put the caller's `Principal` in `request.state.principal`, or answer 401/403."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyStore,
        bind_host: str | None = None,
        exempt: Iterable[str] = EXEMPT_PREFIXES,
    ) -> None:
        self.app = app
        self.keys = keys
        self.bind_host = bind_host
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = required_scope(scope["method"], route_path(scope), exempt=self.exempt)
        if needed is None:
            await self.app(scope, receive, send)
            return
        try:
            principal, refusal = self.authenticate(
                Headers(scope=scope), needed, local=_local_address(scope)
            )
        except Exception as exc:
            # Keys live in the database: while it cannot be reached, say so (503), rather than
            # let the error escape the middleware as a bare 500.
            if not is_connection_error(exc):
                raise
            # The driver's reason only: SQLAlchemy's message would add the SQL and its parameters.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            log.error("cannot check API keys, database unavailable: %s", reason[:1])
            refusal = _error(503, DATABASE_DOWN, "database_unavailable")
            await refusal(scope, receive, send)
            return
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["principal"] = principal
        await self.app(scope, receive, send)

    def authenticate(
        self, headers: Headers, needed: str, *, local: str | None = None
    ) -> tuple[Principal, JSONResponse | None]:
        """The caller, or the error response to send; `local` is the address they reached."""
        if not self.keys.has_keys():
            # Both the configured bind address and the one this connection reached must be
            # loopback: an app started by another server command (bind unknown) is covered too.
            if is_loopback(self.bind_host) and is_loopback(local):
                return ANONYMOUS, None
            # Every key was revoked while serving on a public address: fail closed.
            return ANONYMOUS, _error(
                401,
                "no API keys exist and this server is not bound to loopback, so it serves no "
                "one; create one with `copilot keys create NAME --scope read`",
                "unauthenticated",
            )
        presented = presented_key(headers)
        if presented is None:
            return ANONYMOUS, _error(
                401,
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
                "unauthenticated",
            )
        key = self.keys.verify(presented)
        if key is None:
            return ANONYMOUS, _error(
                401, "the API key is not valid (or was revoked)", "unauthenticated"
            )
        principal = Principal(key.name, frozenset(key.scopes), authenticated=True)
        if needed not in principal.scopes:
            return principal, _error(
                403,
                f"the key {key.name!r} lacks the {needed!r} scope this request needs "
                f"(it has: {', '.join(key.scopes)})",
                "forbidden",
            )
        return principal, None


def check_bind(keys: KeyStore, host: str) -> bool:
    """Whether the server will run open (no keys); ConfigError if it would be open off loopback."""
    if keys.has_keys():
        return False
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without API keys: anyone who can reach it could read "
            "the runbooks and postmortems and change incidents. Create a key first "
            "(`copilot keys create NAME --scope read --scope respond`), or bind to 127.0.0.1."
        )
    return True

"""The security middleware stack and the stores it needs, installed by `create_app`.

Outermost first: request id + JSON access log, authentication (401/403), rate limit (429),
body limit (413), then the app. Auth runs before the body is read, so a caller without a key
cannot make the server read a megabyte.
"""

from __future__ import annotations

from fastapi import FastAPI

from copilot.security.audit import AuditLog
from copilot.security.auth import EXEMPT_PREFIXES, AuthMiddleware
from copilot.security.keys import KeyStore
from copilot.security.limits import BodyLimitMiddleware, RateLimitMiddleware, TokenBuckets
from copilot.security.logs import RequestContextMiddleware
from copilot.settings import Settings


def install_security(app: FastAPI, settings: Settings, *, bind_host: str | None = None) -> None:
    """Open (lazily) the key store and audit log, and add the middleware around `app`."""
    keys = KeyStore(settings.security_path)
    app.state.keys = keys
    app.state.audit = AuditLog(settings.security_path)
    app.state.bind_host = bind_host
    buckets = TokenBuckets(rate=settings.rate_limit_per_s, burst=settings.rate_limit_burst)
    app.state.rate_limits = buckets
    # add_middleware wraps what is there: the last one added runs first.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, buckets=buckets)
    app.add_middleware(AuthMiddleware, keys=keys, bind_host=bind_host, exempt=EXEMPT_PREFIXES)
    app.add_middleware(RequestContextMiddleware)


def close_security(app: FastAPI) -> None:
    for name in ("keys", "audit"):
        store = getattr(app.state, name, None)
        if store is not None:
            store.close()

"""Request limits: a body-size cap counted on the bytes received, and a token-bucket rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot import metrics
from copilot.security.auth import Principal

# Callers tracked at once; the least recently seen are forgotten first (they refill anyway).
MAX_BUCKETS = 10_000


class BodyLimitMiddleware:
    """Refuse a request body over `max_bytes` with 413, chunked uploads included.

    A declared Content-Length over the limit is refused before anything is read. Otherwise the
    body is read here, counting bytes as they arrive, and stops at the first byte over the
    limit; a body within it is handed to the app unchanged. Reading first costs nothing: every
    route parses the whole JSON body anyway.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        metrics.HTTP_REJECTED.labels("too_large").inc()
        return JSONResponse(
            {"detail": f"request body too large: the limit is {self.max_bytes} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False  # the server rejects a malformed length itself
            if too_big:
                await self._too_large()(scope, receive, send)
                return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: let the app see the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive() that returns `messages` first, then defers to the server's."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class TokenBuckets:
    """One token bucket per caller: `rate` tokens a second, holding at most `burst`."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[caller] = (tokens, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """429 with Retry-After once a caller's bucket is empty; only requests the auth layer saw.

    The caller is the API key's name, or the client address when the server runs without keys.
    """

    def __init__(self, app: ASGIApp, *, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        if isinstance(principal, Principal):
            if principal.authenticated:
                caller = f"key:{principal.name}"
            else:
                client = scope.get("client")
                caller = f"ip:{client[0] if client else 'unknown'}"
            wait = self.buckets.take(caller)
            if wait > 0:
                metrics.HTTP_REJECTED.labels("rate_limited").inc()
                retry = max(1, math.ceil(wait))
                response = JSONResponse(
                    {"detail": f"rate limit exceeded; retry in {retry} s"},
                    status_code=429,
                    headers={"Retry-After": str(retry)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""Outbound webhooks on incident events, so a status page or chat tool can subscribe.

Events: `incident.declared`, `incident.severity_changed`, `incident.status_changed`,
`incident.resolved` (sent with the status change that resolves), `incident.update_published`.

Each is a JSON POST to every URL in `COPILOT_WEBHOOK_URLS` (a JSON list), optionally limited to
the names in `COPILOT_WEBHOOK_EVENTS`, with these headers:

    X-Copilot-Event: incident.status_changed
    X-Copilot-Delivery: <uuid, the same on every retry: receivers de-duplicate on it>
    X-Copilot-Attempt: 1
    X-Copilot-Timestamp: <Unix seconds when this attempt was sent>
    X-Copilot-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{raw body}", keyed with
                         COPILOT_WEBHOOK_SECRET>

A receiver recomputes the signature (`verify_signature` here does it), compares in constant time
and refuses timestamps more than five minutes old. Deliveries run on one background thread per
URL, in order, so the request that changed the incident never waits for a receiver. A failed
attempt (connection error, timeout, 408, 429 or 5xx) is retried with exponential backoff
(`COPILOT_WEBHOOK_BACKOFF_S`, doubling, capped at a minute, honouring Retry-After) up to
`COPILOT_WEBHOOK_MAX_ATTEMPTS`; any other status is final. Redirects are not followed.

Payloads carry the incident's title and a published update's text: point webhooks only at
systems you trust with them.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

from prometheus_client import Counter

from copilot import __version__
from copilot.errors import ConfigError
from copilot.incidents import schemas as s
from copilot.settings import Settings

log = logging.getLogger("copilot.webhooks")

EVENTS = (
    "incident.declared",
    "incident.severity_changed",
    "incident.status_changed",
    "incident.resolved",
    "incident.update_published",
)
SIGNATURE_VERSION = "v1"
MAX_AGE_S = 5 * 60
MAX_BACKOFF_S = 60.0
QUEUE_SIZE = 1000
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

DELIVERIES = Counter(
    "copilot_webhook_deliveries_total",
    "Webhook deliveries by outcome (delivered, failed, dropped) and attempts (retried)",
    ["outcome"],
)


# -- signing ----------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `{timestamp}.{body}`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    max_age_s: float = MAX_AGE_S,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age_s:
        return False
    return hmac.compare_digest(
        sign(secret, timestamp, body).encode("ascii"), signature.encode("utf-8", "replace")
    )


# -- what is sent -----------------------------------------------------------------------------


def _incident_summary(incident: s.Incident, public_url: str | None) -> dict[str, Any]:
    summary = incident.model_dump(
        mode="json",
        include={
            "id",
            "title",
            "severity",
            "severity_name",
            "status",
            "services",
            "declared_at",
            "mitigated_at",
            "resolved_at",
            "next_update_due",
        },
    )
    summary["url"] = (
        f"{public_url.rstrip('/')}/incidents/{quote(incident.id)}" if public_url else None
    )
    return summary


def events_for(written: Sequence[s.Event]) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events (name, event-specific fields) a committed change produces."""
    out: list[tuple[str, dict[str, Any]]] = []
    for event in written:
        timeline = event.model_dump(mode="json", include={"id", "kind", "text", "author", "at"})
        extra: dict[str, Any] = {"timeline_event": timeline}
        if event.kind == "declared":
            out.append(("incident.declared", extra))
        elif event.kind == "severity_change":
            change = {"from": event.data.get("from"), "to": event.data.get("to")}
            out.append(("incident.severity_changed", {**extra, "change": change}))
        elif event.kind == "status_change":
            change = {
                "from": event.data.get("from"),
                "to": event.data.get("to"),
                "reopened": bool(event.data.get("reopen")),
            }
            out.append(("incident.status_changed", {**extra, "change": change}))
            if change["to"] == "resolved":
                out.append(("incident.resolved", {**extra, "change": change}))
        elif event.kind == "status_update":
            update = {"audience": event.data.get("audience"), "body": event.text}
            out.append(("incident.update_published", {**extra, "update": update}))
    return out


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    body: bytes


def build_delivery(
    name: str, incident: s.Incident, fields: dict[str, Any], public_url: str | None
) -> Delivery:
    delivery_id = str(uuid.uuid4())
    payload = {
        "id": delivery_id,
        "event": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "incident": _incident_summary(incident, public_url),
        **fields,
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Delivery(delivery_id, name, body)


# -- sending ----------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirect is answered as the final (failed) status


@dataclass
class Outcome:
    """What one attempt got: an HTTP status, or an error before any status."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRY_STATUSES


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


@dataclass
class Stats:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


class _Target:
    """One receiving URL: its queue and its worker thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue: queue.Queue[Delivery | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.thread: threading.Thread | None = None


class WebhookDispatcher:
    """Queue deliveries per URL and send them on background threads, retrying with backoff."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        *,
        events: Sequence[str] = (),
        timeout_s: float = 5.0,
        max_attempts: int = 6,
        backoff_s: float = 1.0,
        max_backoff_s: float = MAX_BACKOFF_S,
        public_url: str | None = None,
    ) -> None:
        if not secret:
            raise ConfigError("webhooks need a signing secret: set COPILOT_WEBHOOK_SECRET")
        for url in urls:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ConfigError(f"COPILOT_WEBHOOK_URLS: {url[:100]!r} is not an http(s) URL")
        unknown = sorted(set(events) - set(EVENTS))
        if unknown:
            raise ConfigError(
                f"COPILOT_WEBHOOK_EVENTS: unknown event {', '.join(unknown)[:100]}; "
                f"events are {', '.join(EVENTS)}"
            )
        self.secret = secret
        self.events = frozenset(events or EVENTS)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.public_url = public_url
        self.stats = Stats()
        self._targets = [_Target(url) for url in dict.fromkeys(urls)]
        self._stopping = threading.Event()
        self._opener = urllib.request.build_opener(_NoRedirects())

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for target in self._targets:
            if target.thread is None:
                target.thread = threading.Thread(
                    target=self._work, args=(target,), name="copilot-webhook", daemon=True
                )
                target.thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        """Send what is queued for up to `drain_s` seconds, then give up on the rest."""
        deadline = time.monotonic() + drain_s
        for target in self._targets:
            with contextlib.suppress(queue.Full):
                target.queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
        for target in self._targets:
            if target.thread is not None:
                target.thread.join(max(0.0, deadline - time.monotonic()))
        self._stopping.set()  # cuts short any backoff still waiting
        for target in self._targets:
            if target.thread is not None:
                target.thread.join(self.timeout_s + 1)
                target.thread = None

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queue is empty and its delivery done (for tests and shutdown)."""
        deadline = time.monotonic() + timeout_s
        for target in self._targets:
            while target.queue.unfinished_tasks:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        return True

    # -- producing ---------------------------------------------------------------------------

    def on_change(self, incident: s.Incident, written: Sequence[s.Event]) -> None:
        """The incident store's listener: queue a delivery per event and URL, never block."""
        for name, fields in events_for(written):
            if name not in self.events:
                continue
            delivery = build_delivery(name, incident, fields, self.public_url)
            for target in self._targets:
                try:
                    target.queue.put_nowait(delivery)
                except queue.Full:
                    self.stats.add(dropped=1)
                    DELIVERIES.labels("dropped").inc()
                    log.error("webhook queue for %s is full; %s dropped", _host(target.url), name)

    # -- consuming ---------------------------------------------------------------------------

    def _work(self, target: _Target) -> None:
        while True:
            delivery = target.queue.get()
            try:
                if delivery is None:
                    return
                self._deliver(target.url, delivery)
            except Exception:  # a bug here must not kill the worker and strand the queue
                log.exception("webhook worker for %s failed", _host(target.url))
            finally:
                target.queue.task_done()

    def _deliver(self, url: str, delivery: Delivery) -> None:
        outcome = Outcome(None, "not attempted")
        for attempt in range(1, self.max_attempts + 1):
            if self._stopping.is_set():
                break
            outcome = self.send(url, delivery, attempt)
            self.stats.add(attempts=1)
            if outcome.ok:
                self.stats.add(delivered=1)
                DELIVERIES.labels("delivered").inc()
                return
            if not outcome.retryable or attempt == self.max_attempts:
                break
            DELIVERIES.labels("retried").inc()
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
            delay = delay * (0.8 + 0.4 * random.random())  # jitter: receivers recover unherded
            if outcome.retry_after is not None:
                delay = min(self.max_backoff_s, max(delay, outcome.retry_after))
            if self._stopping.wait(delay):
                break
        self.stats.add(failed=1)
        DELIVERIES.labels("failed").inc()
        log.warning(
            "webhook %s %s to %s not delivered: %s",
            delivery.event,
            delivery.id,
            _host(url),
            outcome.error or f"HTTP {outcome.status}",
        )

    def send(self, url: str, delivery: Delivery, attempt: int) -> Outcome:
        """One signed POST."""
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"responder-copilot/{__version__}",
                "X-Copilot-Event": delivery.event,
                "X-Copilot-Delivery": delivery.id,
                "X-Copilot-Attempt": str(attempt),
                "X-Copilot-Timestamp": timestamp,
                "X-Copilot-Signature": sign(self.secret, timestamp, delivery.body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                response.read(1024)
                return Outcome(int(response.status))
        except urllib.error.HTTPError as exc:
            retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            exc.close()
            return Outcome(exc.code, retry_after=retry_after)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(None, f"{type(exc).__name__}: {reason}"[:200])


def _host(url: str) -> str:
    # Logs name the host only: a webhook URL often carries a token in its path or query.
    return urlparse(url).hostname or "?"


# -- wiring -----------------------------------------------------------------------------------


def from_settings(settings: Settings) -> WebhookDispatcher | None:
    """The dispatcher the settings ask for, or None when no webhook URL is configured."""
    if not settings.webhook_urls:
        return None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    return WebhookDispatcher(
        settings.webhook_urls,
        secret,
        events=settings.webhook_events,
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
        backoff_s=settings.webhook_backoff_s,
        public_url=settings.public_url,
    )


Listener = Callable[[s.Incident, Sequence[s.Event]], None]


@contextmanager
def running(dispatcher: WebhookDispatcher | None, store: Any) -> Iterator[None]:
    """Subscribe `dispatcher` to the incident store's changes while the app serves."""
    if dispatcher is None or store is None:
        yield
        return
    dispatcher.start()
    listeners: list[Listener] = store.listeners
    listeners.append(dispatcher.on_change)
    try:
        yield
    finally:
        listeners.remove(dispatcher.on_change)
        dispatcher.stop()

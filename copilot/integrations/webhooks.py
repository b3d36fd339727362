"""Outbound webhooks on incident events, so a status page or chat tool can subscribe.

Events: `incident.declared`, `incident.severity_changed`, `incident.status_changed`,
`incident.resolved` (sent with the status change that resolves), `incident.update_published`;
`follow_up.created` and `follow_up.changed` (body: `follow_up` and `changes`, see on_follow_up);
`status_page.incident_updated`, `status_page.maintenance_created` and
`status_page.maintenance_updated` (body: only what the public status page shows, see
copilot.statuspage.notify: for subscribers who must never see the incident behind it, limit
their webhook to these with `COPILOT_WEBHOOK_EVENTS`).

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

Durability: deliveries go through an outbox, the `webhook_outbox` table of the copilot database
(copilot.db: the SQLite file in the data dir, or PostgreSQL shared by replicas). The incident
store's listener (`on_change`) writes one row per delivery and URL, in one transaction, before
waking the URL's worker; the worker sends the oldest pending row of its URL (waiting out its
backoff, so later rows never overtake it) and records it delivered, failed (with the last error:
a status or a connection error, never the URL) or pending again with its next attempt time. On
start, pending rows are made due at once, with the same delivery id and the attempt count
carried on; delivered and failed rows older than seven days are pruned. A URL holds at most
`MAX_PENDING` pending rows; past that a delivery is dropped, logged and counted. Rows name a URL
by its SHA-256 and host only, so a token in the URL stays out of the database (and the pending
rows of a URL dropped from the settings wait, untouched, until it comes back).

Several dispatchers (replicas, or a server and a CLI) may share one outbox. Before each attempt a
worker claims its URL's head row: it takes the row (`SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises the claim), checks nobody holds a lease on it,
counts the attempt and leases the row for the attempt's timeout plus `LEASE_MARGIN_S`, then
commits and sends. Another dispatcher skips a leased head (and so the rows behind it: order per
URL holds); a lease left by a process that died mid-send runs out and the row is sent again with
the same delivery id and the next attempt number.

What is still not guaranteed: the listener runs after the incident change commits, so a crash
between that commit and the outbox write loses that change's events. Delivery is at least once:
a crash after a receiver answered but before the row was marked sends it again (same delivery
id, next attempt number).

Payloads carry the incident's title and a published update's text, and the outbox keeps them
for a week after delivery: point webhooks only at systems you trust with them.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
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
from sqlalchemy.exc import SQLAlchemyError

from copilot import __version__
from copilot.db import DatabaseSource
from copilot.errors import ConfigError, CopilotError
from copilot.incidents import schemas as s
from copilot.integrations.outbox import Delivery, Outbox, OutboxRow, logged_host
from copilot.settings import Settings

log = logging.getLogger("copilot.webhooks")

EVENTS = (
    "incident.declared",
    "incident.severity_changed",
    "incident.status_changed",
    "incident.resolved",
    "incident.update_published",
    # Follow-ups (copilot.followups): created, or any of its fields changed (issue 16).
    "follow_up.created",
    "follow_up.changed",
    # The public status page (copilot.statuspage.notify): published text only (issue 15).
    "status_page.incident_updated",
    "status_page.maintenance_created",
    "status_page.maintenance_updated",
)
SIGNATURE_VERSION = "v1"
MAX_AGE_S = 5 * 60
MAX_BACKOFF_S = 60.0
MAX_PENDING = 10_000  # pending rows per URL in the outbox
OUTBOX_NAME = "webhooks.sqlite"  # where older copilots kept the outbox (imported once)
OUTBOX_POLL_S = 2.0
LEASE_MARGIN_S = 30.0  # a claim outlives the attempt's timeout by this much
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
    """One receiving URL: its worker thread and the event that wakes it for a new row."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        # The head row as this worker last left it (pending, backing off): read again only
        # when a claim on it fails, which saves a query per retry.
        self.known: OutboxRow | None = None


class WebhookDispatcher:
    """Write deliveries to the outbox and send them on a background thread per URL, retrying
    with backoff."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        *,
        outbox: DatabaseSource,
        events: Sequence[str] = (),
        timeout_s: float = 5.0,
        max_attempts: int = 6,
        backoff_s: float = 1.0,
        max_backoff_s: float = MAX_BACKOFF_S,
        max_pending: int = MAX_PENDING,
        public_url: str | None = None,
    ) -> None:
        if not secret:
            raise ConfigError("webhooks need a signing secret: set COPILOT_WEBHOOK_SECRET")
        for url in urls:
            try:
                parsed = urlparse(url)
                valid = parsed.scheme in ("http", "https") and bool(parsed.hostname)
            except ValueError:  # "http://[" and other malformed URLs
                valid = False
            if not valid:
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
        self.max_pending = max_pending
        self.public_url = public_url
        self.stats = Stats()
        self.outbox = Outbox(outbox)
        self._targets = [_Target(url) for url in dict.fromkeys(urls)]
        self._urls = [target.url for target in self._targets]
        self._started = False
        self._stopping = threading.Event()
        self._opener = urllib.request.build_opener(_NoRedirects())

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Resume what a previous process left (prune old rows, make pending ones due) and start
        a worker per URL; other dispatchers over the same database may run at the same time."""
        if self._started:
            return
        self._stopping.clear()
        pruned = self.outbox.prune()
        resumed, elsewhere = self.outbox.resume(self._urls)
        if pruned:
            log.info("webhook outbox: pruned %d deliveries older than 7 days", pruned)
        if resumed:
            log.info("webhook outbox: resuming %d pending deliveries", resumed)
        if elsewhere:
            log.warning(
                "webhook outbox: %d pending deliveries are for URLs no longer configured; "
                "they stay pending",
                elsewhere,
            )
        self._started = True
        for target in self._targets:
            target.thread = threading.Thread(
                target=self._work, args=(target,), name="copilot-webhook", daemon=True
            )
            target.thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        """Send what is due for up to `drain_s` seconds; what is left stays in the outbox for
        the next start."""
        deadline = time.monotonic() + drain_s
        if self._started:
            due_by = time.time() + drain_s  # a row backing off past the deadline is not waited for
            with contextlib.suppress(SQLAlchemyError, CopilotError):
                while self.outbox.pending(self._urls, due_by=due_by):
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.01)
        self._stopping.set()  # cuts short any backoff still waiting
        for target in self._targets:
            target.wake.set()
        for target in self._targets:
            if target.thread is not None:
                target.thread.join(self.timeout_s + 1)
                target.thread = None
        self._started = False
        self.outbox.close()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until no delivery to these URLs is pending in the outbox (for tests)."""
        deadline = time.monotonic() + timeout_s
        while self.outbox.pending(self._urls):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # -- producing ---------------------------------------------------------------------------

    def on_change(self, incident: s.Incident, written: Sequence[s.Event]) -> None:
        """The incident store's listener: write a delivery per event and URL to the outbox and
        wake the workers; never waits for a receiver."""
        deliveries = [
            build_delivery(name, incident, fields, self.public_url)
            for name, fields in events_for(written)
            if name in self.events
        ]
        if not deliveries or not self._targets:
            return
        try:
            dropped = self.outbox.add(deliveries, self._urls, limit=self.max_pending)
        except (SQLAlchemyError, CopilotError) as exc:
            dropped = [(url, d) for url in self._urls for d in deliveries]
            log.error(
                "webhook outbox in %s could not be written (%s); %d deliveries dropped",
                self.outbox.label,
                getattr(exc, "orig", None) or exc,
                len(dropped),
            )
        else:
            for url, delivery in dropped:
                log.error(
                    "webhook outbox for %s holds %d pending deliveries; %s dropped",
                    logged_host(url),
                    self.max_pending,
                    delivery.event,
                )
        if dropped:
            self.stats.add(dropped=len(dropped))
            DELIVERIES.labels("dropped").inc(len(dropped))
        for target in self._targets:
            target.wake.set()

    def on_follow_up(self, name: str, follow_up: Any, changes: dict[str, Any]) -> None:
        """The follow-up service's listener: the follow-up (its screened view) and the fields
        changed ({field: [old, new]}), through the same outbox, signing and retries."""
        self._send_one(name, {"follow_up": follow_up.model_dump(mode="json"), "changes": changes})

    def on_status_page(self, name: str, fields: dict[str, Any]) -> None:
        """The status page's listener: what the public page shows of a change (its fields go
        into the body as given), through the same outbox, signing and retries."""
        self._send_one(name, fields)

    def _send_one(self, name: str, fields: dict[str, Any]) -> None:
        if name not in self.events or not self._targets:
            return
        delivery_id = str(uuid.uuid4())
        payload = {
            "id": delivery_id,
            "event": name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **fields,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            dropped = self.outbox.add(
                [Delivery(delivery_id, name, body)], self._urls, limit=self.max_pending
            )
        except (SQLAlchemyError, CopilotError) as exc:
            log.error("webhook outbox could not be written (%s); %s dropped", exc, name)
            dropped = [(url, Delivery(delivery_id, name, body)) for url in self._urls]
        if dropped:
            self.stats.add(dropped=len(dropped))
            DELIVERIES.labels("dropped").inc(len(dropped))
        for target in self._targets:
            target.wake.set()

    # -- consuming ---------------------------------------------------------------------------

    def _work(self, target: _Target) -> None:
        while not self._stopping.is_set():
            try:
                self._step(target)
            except Exception:  # a bug or a broken outbox must not kill the worker
                log.exception("webhook worker for %s failed", logged_host(target.url))
                self._stopping.wait(OUTBOX_POLL_S)

    def _step(self, target: _Target) -> None:
        """Send the oldest pending row of the target once it is due, and record what happened."""
        target.wake.clear()  # before looking, so a row written meanwhile is not slept through
        row, target.known = target.known or self.outbox.head(target.url), None
        if row is None:
            # Polls too, for rows another process (replica, CLI) wrote to the database.
            target.wake.wait(OUTBOX_POLL_S)
            return
        now = time.time()
        if row.leased_until is not None and row.leased_until > now:
            # Another dispatcher is sending it: look again when its lease runs out.
            self._stopping.wait(min(OUTBOX_POLL_S, row.leased_until - now))
            return
        delay = row.next_attempt_at - now
        if delay > 0:
            # Capped, so a row another dispatcher settles meanwhile is not waited on for long.
            target.known = row
            target.wake.wait(min(delay, OUTBOX_POLL_S * 5))
            return
        attempt = row.attempts + 1
        if attempt > self.max_attempts:  # a crash cut the last attempt short
            self._give_up(target.url, row, f"gave up after {row.attempts} attempts")
            return
        if not self.outbox.claim(row, lease_s=self.timeout_s + LEASE_MARGIN_S):
            return  # another dispatcher claimed it first
        outcome = self.send(target.url, row.delivery, attempt)
        self.stats.add(attempts=1)
        if outcome.ok:
            self.outbox.settle(row.seq, "delivered")
            self.stats.add(delivered=1)
            DELIVERIES.labels("delivered").inc()
            return
        error = outcome.error or f"HTTP {outcome.status}"
        if not outcome.retryable or attempt >= self.max_attempts:
            self._give_up(target.url, row, error)
            return
        DELIVERIES.labels("retried").inc()
        next_at = time.time() + self.retry_delay(attempt, outcome.retry_after)
        self.outbox.settle(row.seq, "pending", error=error, next_at=next_at)
        target.known = OutboxRow(row.seq, row.delivery, attempt, next_at)

    def retry_delay(
        self, attempt: int, retry_after: float | None = None, *, jitter: float | None = None
    ) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based): the backoff doubling, times
        a jitter in [0.8, 1.2) so receivers recover unherded, never past the cap, and never
        sooner than a receiver's Retry-After (still capped)."""
        delay: float = self.backoff_s * 2.0 ** (attempt - 1)
        delay *= 0.8 + 0.4 * (random.random() if jitter is None else jitter)
        delay = min(self.max_backoff_s, delay)
        if retry_after is not None:
            delay = min(self.max_backoff_s, max(delay, retry_after))
        return delay

    def _give_up(self, url: str, row: OutboxRow, error: str) -> None:
        self.outbox.settle(row.seq, "failed", error=error)
        self.stats.add(failed=1)
        DELIVERIES.labels("failed").inc()
        log.warning(
            "webhook %s %s to %s not delivered: %s",
            row.delivery.event,
            row.delivery.id,
            logged_host(url),
            error,
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
            # The error is logged and kept in the outbox: it names the host, never the URL.
            error = f"{type(exc).__name__}: {reason}".replace(url, logged_host(url))
            return Outcome(None, error[:200])


# -- wiring -----------------------------------------------------------------------------------


def from_settings(settings: Settings) -> WebhookDispatcher | None:
    """The dispatcher the settings ask for, or None when no webhook URL is configured."""
    if not settings.webhook_urls:
        return None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    return WebhookDispatcher(
        settings.webhook_urls,
        secret,
        outbox=settings,
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
